"""What every benchmark mode shares: figures, their report, the server process, the result files."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"


class Figure:
    """One measured figure and its budget (`ok` is None when it has no budget).

    `timed` figures depend on the machine's speed and load, and quick mode never fails on them;
    the others (the soak's leak check, instruction counts in a full run) are judged in any mode.
    """

    def __init__(
        self,
        name: str,
        value: float,
        unit: str,
        budget: str,
        ok: bool | None,
        detail: str,
        *,
        timed: bool = True,
    ) -> None:
        self.name, self.value, self.unit = name, value, unit
        self.budget, self.ok, self.detail = budget, ok, detail
        self.timed = timed

    def as_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "unit": self.unit,
            "budget": self.budget,
            "ok": self.ok,
            "detail": self.detail,
            "timed": self.timed,
        }


def median(values: list[float]) -> float:
    return statistics.median(values)


@contextmanager
def server_process(latency: float = 0.0, backends: int = 0) -> Iterator[str]:
    """An emulator in another process (so its work is never the client's); yields its base URL."""
    command = [
        sys.executable,
        "-m",
        "benchmarks._server",
        "--latency",
        str(latency),
        "--backends",
        str(backends),
    ]
    proc = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert proc.stdout is not None
    assert proc.stdin is not None
    try:
        yield json.loads(proc.stdout.readline())["base_url"]
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
        proc.stdout.close()


def results_file(kind: str, quick: bool) -> Path:
    """Each kind of run keeps its own last result, and so does its quick mode.

    A quick run is never printed as the last full one: `last.json` is written by full runs only.
    """
    return RESULTS / f"{kind}{'-quick' if quick else ''}.json"


def load_previous(path: Path) -> dict[str, Any] | None:
    try:
        previous: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return previous


def save(path: Path, quick: bool, figures: list[Figure], **extra: Any) -> None:
    path.parent.mkdir(exist_ok=True)
    record = {
        "quick": quick,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "figures": {f.name: f.as_json() for f in figures},
        **extra,
    }
    path.write_text(json.dumps(record, indent=2) + "\n")


def report(
    figures: list[Figure],
    quick: bool,
    previous: dict[str, Any] | None,
    width: int = 12,
    quick_note: str = "timing not judged; the soak's leak check is",
) -> str:
    lines = [f"{'figure':{width}} {'value':>9}  {'budget':40} {'ok':4} detail"]
    for f in figures:
        ok = "-" if f.ok is None else ("yes" if f.ok else "NO")
        lines.append(
            f"{f.name:{width}} {f.value:>9.3f}  {f.unit + ' ' + f.budget:40} {ok:4} {f.detail}"
        )
        if previous and f.name in previous.get("figures", {}):
            when = previous.get("when", "?")
            lines.append(
                f"{'':{width}} {'last run':>9}  {previous['figures'][f.name]['value']:.3f}"
                f"  ({when})"
            )
    mode = f"quick mode ({quick_note})" if quick else "full run"
    lines.append(f"{mode}; {os.cpu_count()} cores; Python {platform.python_version()}")
    return "\n".join(lines)


def missed(figures: list[Figure], quick: bool) -> list[Figure]:
    """The figures that fail the run: any over budget, except timed ones in quick mode."""
    return [f for f in figures if f.ok is False and not (quick and f.timed)]


async def start_monitor(*options: str) -> tuple[asyncio.subprocess.Process, str]:
    """`python -m ionq_backends.service` on a free port with `options`: the process, its URL."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ionq_backends.service", "--port", "0", "--log-level", "error",
        *options, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
    if not line.startswith("ionq-backends serve: http://"):
        raise RuntimeError(f"the monitor did not start: {line!r}")
    return proc, line.split()[2]


async def rounds_done(http: aiohttp.ClientSession, url: str) -> int:
    """How many rounds a monitor process has folded in."""
    async with http.get(url + "api/fleet") as response:
        return int((await response.json())["rounds"])
