"""Test data, built one way: backends, characterizations, snapshots and errors; and the one way
to run the command line in a subprocess, in an environment the caller's shell cannot colour."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ionq_backends import (
    Backend,
    BackendsSnapshot,
    BackendStatus,
    Characterization,
    FidelityStat,
    IonQError,
    ServerError,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

# A child's environment: no IONQ_* setting of the caller's shell (a key, a base URL, a log
# level) and no NO_COLOR, so what a test sees does not depend on who runs it.
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("IONQ_") and k != "NO_COLOR"}
SCRIPT = Path(sys.executable).with_name("ionq-backends")  # the console script users run
CHILD_TIMEOUT = 60.0


def backend(name: str = "qpu.aria-1", status: str = "available", **fields: Any) -> Backend:
    """A v0.4 backend with only the fields given (the rest `None`, as the API may leave them)."""
    fields.setdefault("api_version", "v0.4")
    return Backend(name=name, status=status, **fields)


def fleet_backend(name: str = "qpu.aria-1", **fields: Any) -> Backend:
    """A backend as the live fleet sends one: every field the monitor shows, set."""
    values: dict[str, Any] = {
        "status": BackendStatus.AVAILABLE,
        "qubits": 25,
        "average_queue_time": 90_000.0,
        "degraded": False,
        "characterization_id": "c-1",
        "last_updated": NOW,
    }
    return backend(name, **{**values, **fields})


def characterization(
    fidelity: Mapping[str, float | None] | None = None,
    *,
    cid: str = "c-1",
    backend: str | None = "qpu.aria-1",
    date: datetime | None = NOW - timedelta(hours=5),
    qubits: int | None = 4,
    connectivity: tuple[tuple[int, int], ...] = (),
    stderr: Mapping[str, float | None] = {"2q": 0.001},
) -> Characterization:
    """A v0.4 characterization; each fidelity's stderr is `stderr[key]`, else none (by
    default only 2q has one, as on the live API)."""
    stats = {
        key: FidelityStat(value, stderr.get(key), "median")
        for key, value in (fidelity or {}).items()
    }
    return Characterization(id=cid, backend=backend, date=date, api_version="v0.4",
                            qubits=qubits, connectivity=connectivity, fidelity=stats)  # fmt: skip


def snapshot(*backends: Backend, errors: Mapping[str, IonQError] | None = None) -> BackendsSnapshot:
    return BackendsSnapshot({b.name: b for b in backends}, errors=dict(errors or {}))


def server_error(message: str = "boom", status: int = 503, request_id: str = "r-1") -> ServerError:
    return ServerError(message, status_code=status, request_id=request_id, method="GET", path="/x")


def run_cli(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = CHILD_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """`ionq-backends ARGS` in a subprocess, in CLEAN_ENV plus `env`, with no stdin."""
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout,
                          env={**CLEAN_ENV, **(env or {})}, stdin=subprocess.DEVNULL)  # fmt: skip
