"""Pure formatting for the command line: tables, durations, relative times and change lines.

No I/O and no terminal here: every function takes values and returns text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .._constants import GONE_AFTER_ROUNDS
from .._errors import APIStatusError, IonQError
from .._humanize import format_age as relative
from .._humanize import format_duration as human_duration
from .._humanize import printable
from .._models import Backend, BackendChange, BackendStatus
from .._wire.dates import iso_z

__all__ = [
    "BACKEND_HEADERS",
    "STATUS_COLOURS",
    "backend_rows",
    "describe_change",
    "error_json",
    "human_duration",
    "printable",
    "relative",
    "table",
]

# SGR colour codes by status text, for people's tables.
STATUS_COLOURS: Mapping[str, str] = {
    BackendStatus.AVAILABLE: "32",
    BackendStatus.RUNNING: "32",
    BackendStatus.RESERVED: "33",
    BackendStatus.CALIBRATING: "33",
    BackendStatus.UNAVAILABLE: "31",
    BackendStatus.OFFLINE: "31",
    BackendStatus.RETIRED: "2",
    BackendStatus.DEGRADED: "33",
    "ERROR": "31",
}
BACKEND_HEADERS = ("NAME", "STATUS", "QUBITS", "QUEUE", "UPDATED", "DEGRADED")


def table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], colour: Mapping[int, Mapping[str, str]]
) -> str:
    """Left-aligned columns (numbers right-aligned); `colour[i]` maps cell text to an SGR code."""
    rows = [[printable(cell) for cell in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    numeric = [all(r[i].replace(".", "").isdigit() or r[i] == "-" for r in rows) and rows
               for i in range(len(headers))]  # fmt: skip
    lines = []
    for cells in [list(headers), *rows]:
        out = []
        for i, cell in enumerate(cells):
            padded = cell.rjust(widths[i]) if numeric[i] else cell.ljust(widths[i])
            code = colour.get(i, {}).get(cell) if cells is not headers else None
            out.append(f"\x1b[{code}m{padded}\x1b[0m" if code else padded)
        lines.append("  ".join(out).rstrip())
    return "\n".join(lines)


def queue_text(backend: Backend) -> str:
    """The queue, or "-" for a backend that runs no jobs: its queue says nothing of a wait."""
    return human_duration(backend.queue_time) if backend.runs_jobs else "-"


def backend_rows(backends: Iterable[Backend], now: datetime) -> list[list[str]]:
    return [
        [
            b.name,
            str(b.status),
            "-" if b.qubits is None else str(b.qubits),
            queue_text(b),
            relative(b.last_updated, now),
            {True: "yes", False: "no", None: "-"}[b.degraded_or_unknown],
        ]
        for b in backends
    ]


def error_json(error: IonQError) -> dict[str, Any]:
    data: dict[str, Any] = {"type": type(error).__name__, "message": error.message}
    if isinstance(error, APIStatusError):
        data |= {"status_code": error.status_code, "request_id": error.request_id}
    return data


# The name column of `watch` lines: as wide as the longest name IonQ has used so far.
NAME_WIDTH = 22
STATUS_WIDTH = 11  # "unavailable", the longest status the API sends


def describe_change(
    event: BackendChange, now: datetime, *, colour: Mapping[str, str] | None = None
) -> str:
    """One `watch` line, its columns aligned as `list`'s: a first sight, changed fields, an
    error or a recovery. `colour` maps a status to an SGR code (for a terminal)."""

    def status(value: object, width: int = 0) -> str:
        text = printable(str(value))
        code = (colour or {}).get(text)
        pad = " " * (width - len(text))  # outside the colour, so that columns line up
        return (f"\x1b[{code}m{text}\x1b[0m" if code else text) + pad

    stamp = iso_z(now, "seconds")
    head = f"{stamp}  {printable(event.name).ljust(NAME_WIDTH)}"
    if event.error is not None:
        return f"{head}  {status('ERROR', STATUS_WIDTH)}  {printable(str(event.error))}"
    if event.gone:
        return f"{head}  {'gone':<{STATUS_WIDTH}}  (not listed for {GONE_AFTER_ROUNDS} rounds)"
    current = event.current
    assert current is not None
    if event.previous is None:
        qubits = "-" if current.qubits is None else current.qubits
        return (f"{head}  {status(current.status, STATUS_WIDTH)}  qubits={qubits!s:<4}  "
                f"queue={human_duration(current.queue_time)}")  # fmt: skip
    if not event.changed_fields:
        return f"{head}  {'recovered':<{STATUS_WIDTH}}  {status(current.status)}"
    parts = []
    for name in event.changed_fields:
        old, new = getattr(event.previous, name), getattr(current, name)
        if name == "status":
            parts.append(f"status: {status(old)} -> {status(new)}")
        else:
            parts.append(printable(f"{name}: {old} -> {new}"))
    return f"{head}  " + "; ".join(parts)
