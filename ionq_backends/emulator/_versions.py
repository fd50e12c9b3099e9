"""How each API version renders the emulated fleet, and which routes it serves (pure, no I/O).

One class per version, as the client's wire layer has one profile per version; a test checks the
two registries name the same versions.
"""

from __future__ import annotations

import abc
from datetime import UTC, datetime
from typing import Any, ClassVar

from .._wire.dates import iso_z
from ._fleet import OMIT, Machine

__all__ = ["RENDERINGS", "Rendering"]

# Route kinds the server implements; each version maps its paths to them.
LIST, ONE, PAGE, CURRENT, BY_ID, OF_BACKEND = (
    "list", "one", "page", "current", "by_id", "of_backend"
)  # fmt: skip


class Rendering(abc.ABC):
    """One API version as the emulator speaks it."""

    version: ClassVar[str]
    statistic: ClassVar[str]
    # (path below /<version>, route kind)
    routes: ClassVar[tuple[tuple[str, str], ...]]
    when_expected: ClassVar[str]

    def backend(self, machine: Machine, *, verbose: bool, has_key: bool) -> dict[str, Any]:
        """The JSON object of one backend."""
        f = machine.fields
        wire: dict[str, Any] = {"backend": machine.name, "status": self.status(f, verbose)}
        for key in ("qubits", "average_queue_time", "degraded", "noise_models"):
            if key in f:
                wire[key] = f[key]
        updated = f.get("last_updated", OMIT)
        if isinstance(updated, datetime):
            wire["last_updated"] = self.when(updated)
        elif updated is not OMIT:
            wire["last_updated"] = updated
        self.more(wire, machine, has_key)
        # Whether the key sent may run jobs there: without a key, no (both versions, as the
        # live API's fixtures show it beside either version's keys).
        wire["has_access"] = has_key
        wire.update(machine.extra)
        return {k: v for k, v in wire.items() if v is not OMIT}

    def characterization(self, item: dict[str, Any]) -> dict[str, Any]:
        """The JSON object of one characterization."""
        return {
            "id": item["id"],
            "backend": item["backend"],
            "date": self.when(item["date"]),
            "qubits": item["qubits"],
            "connectivity": item["connectivity"],
            "fidelity": {
                # OMIT leaves `stderr` out, as live captures do.
                key: {self.statistic: value} | ({} if stderr is OMIT else {"stderr": stderr})
                for key, (value, stderr) in item["fidelity"].items()
            },
            "timing": item["timing"],
        }

    def status(self, fields: dict[str, Any], verbose: bool) -> Any:
        return fields.get("status", "available")

    @abc.abstractmethod
    def when(self, moment: datetime) -> Any:
        """A datetime as this version writes it."""

    @abc.abstractmethod
    def parse_when(self, raw: str) -> datetime:
        """A `start`/`end` query parameter; `ValueError` if it is not one."""

    @abc.abstractmethod
    def more(self, wire: dict[str, Any], machine: Machine, has_key: bool) -> None:
        """Add this version's own keys."""


# When no verbose_status is set: what each status reads as under v0.3 `?status=verbose`.
_VERBOSE = {"available": "running", "unavailable": "offline", "retired": "offline"}


class V03(Rendering):
    version = "v0.3"
    statistic = "mean"
    when_expected = "epoch milliseconds"
    routes = (
        ("backends", LIST),
        ("characterizations/backends/{backend}", PAGE),
        ("characterizations/backends/{backend}/current", CURRENT),
        ("characterizations/{uuid}", BY_ID),
    )

    def status(self, fields: dict[str, Any], verbose: bool) -> Any:
        status = fields.get("status", "available")
        if verbose:
            return fields.get("verbose_status") or _VERBOSE.get(status, status)
        return "unavailable" if status == "retired" else status  # v0.3 has no `retired`

    def when(self, moment: datetime) -> Any:
        return int(moment.timestamp())

    def parse_when(self, raw: str) -> datetime:
        return datetime.fromtimestamp(int(raw) / 1000, UTC)

    def more(self, wire: dict[str, Any], machine: Machine, has_key: bool) -> None:
        cid = machine.characterization_id()
        if cid is not OMIT:
            wire["characterization_url"] = f"/characterizations/{cid}"


_V04_ONLY = (
    "kw",
    "location",
    "supported_gates",
    "supported_native_gates",
    "supported_error_mitigations",
)


class V04(Rendering):
    version = "v0.4"
    statistic = "median"
    when_expected = "an ISO-8601 date"
    routes = (
        ("backends", LIST),
        ("backends/{backend}", ONE),
        ("backends/{backend}/characterizations", PAGE),
        ("backends/{backend}/characterizations/{uuid}", OF_BACKEND),
    )

    def when(self, moment: datetime) -> Any:
        return iso_z(moment.replace(microsecond=0))

    def parse_when(self, raw: str) -> datetime:
        parsed = datetime.fromisoformat(raw)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def more(self, wire: dict[str, Any], machine: Machine, has_key: bool) -> None:
        cid = machine.characterization_id()
        if cid is not OMIT:
            wire["characterization_id"] = cid
        for key in _V04_ONLY:
            if key in machine.fields:
                wire[key] = machine.fields[key]


RENDERINGS: dict[str, Rendering] = {r.version: r for r in (V03(), V04())}
