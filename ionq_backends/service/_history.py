"""What the history stores and how it is read back (pure: no SQLite here).

Each round adds one sample per backend to the bucket of `sample_seconds` it falls in (counts and
sums, so a bucket is exact however many rounds it holds); each change event is one row. Reading
downsamples buckets to at most MAX_POINTS points by a "nice" step.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from .._json import to_json
from .._models import BackendChange, BackendsSnapshot
from ._constants import NICE_STEPS
from ._state import ErrorInfo, iso, queue_seconds

__all__ = [
    "EventRow",
    "SampleRow",
    "SeriesRow",
    "bucket_of",
    "choose_step",
    "event_json",
    "event_rows",
    "sample_rows",
    "series_json",
]


class SampleRow(NamedTuple):
    """One backend in one round: fetched (`ok`), available (`up`) and its queue time."""

    backend: str
    bucket: int  # Unix seconds at the start of the bucket
    ok: int
    up: int
    queue: float | None  # seconds


class EventRow(NamedTuple):
    """One change event, as stored."""

    ts: float  # Unix seconds
    backend: str
    kind: str  # seen | change | error | recovered
    status: str | None
    fields: str  # JSON list of the changed fields
    detail: str  # JSON object


class SeriesRow(NamedTuple):
    """One downsampled point as the store's query returns it."""

    backend: str
    t: int
    polls: int
    ok: int
    up: int
    queue_sum: float
    queue_n: int
    queue_max: float | None


def bucket_of(moment: datetime, sample_seconds: int) -> int:
    seconds = int(moment.timestamp())
    return seconds - seconds % sample_seconds


def sample_rows(snapshot: BackendsSnapshot, at: datetime, sample_seconds: int) -> list[SampleRow]:
    """One row per backend of a round, failed ones included (they count against `ok`)."""
    bucket = bucket_of(at, sample_seconds)
    rows = [
        SampleRow(name, bucket, 1, int(backend.is_available), queue_seconds(backend))
        for name, backend in snapshot.items()
    ]
    rows.extend(SampleRow(name, bucket, 0, 0, None) for name in snapshot.errors)
    return rows


def _summary(change: BackendChange) -> dict[str, Any]:
    current = change.current
    assert current is not None
    return {
        "status": to_json(current.status),
        "qubits": current.qubits,
        "degraded": current.degraded,
        "queue_seconds": queue_seconds(current),
        "characterization_id": current.characterization_id,
    }


def event_rows(changes: Iterable[BackendChange], at: datetime) -> list[EventRow]:
    """One row per `watch()`-style event of a round."""
    rows = []
    ts = at.timestamp()
    for change in changes:
        current = change.current
        status = None if current is None else str(to_json(current.status))
        fields = json.dumps(list(change.changed_fields))
        if change.error is not None:
            kind, detail = "error", ErrorInfo.of(change.error, at).to_json()
        elif change.gone:  # the history keeps its past; the monitor stops asking for it
            kind, detail = "gone", {}
        elif change.previous is None:
            kind, detail = "seen", _summary(change)
        elif not change.changed_fields:
            kind, detail = "recovered", _summary(change)
        else:
            kind = "change"
            detail = {
                name: [
                    to_json(getattr(change.previous, name)),
                    to_json(getattr(current, name)),
                ]
                for name in change.changed_fields
            }
        rows.append(EventRow(ts, change.name, kind, status, fields, json.dumps(detail)))
    return rows


def choose_step(span: float, sample_seconds: int, max_points: int) -> int:
    """The smallest nice step, a multiple of the bucket, that keeps `span` under `max_points`."""
    wanted = max(float(sample_seconds), span / max_points)
    for step in NICE_STEPS:
        if step >= wanted and step % sample_seconds == 0:
            return step
    return sample_seconds * math.ceil(wanted / sample_seconds)


def series_json(rows: Sequence[SeriesRow]) -> dict[str, dict[str, list[Any]]]:
    """Columns per backend: `t` (Unix seconds), mean and max queue seconds, availability (the
    fraction of successful polls that found it available) and failed polls."""
    series: dict[str, dict[str, list[Any]]] = {}
    for row in rows:
        columns = series.setdefault(
            row.backend,
            {"t": [], "queue_seconds": [], "queue_max": [], "availability": [], "errors": []},
        )
        columns["t"].append(row.t)
        columns["queue_seconds"].append(row.queue_sum / row.queue_n if row.queue_n else None)
        columns["queue_max"].append(row.queue_max)
        columns["availability"].append(row.up / row.ok if row.ok else None)
        columns["errors"].append(row.polls - row.ok)
    return series


def event_json(row: Sequence[Any]) -> dict[str, Any]:
    """An event row from the store as JSON."""
    ts, backend, kind, status, fields, detail = row
    return {
        "at": iso(datetime.fromtimestamp(ts, UTC)),
        "ts": ts,
        "backend": backend,
        "kind": kind,
        "status": status,
        "changed_fields": json.loads(fields),
        "detail": json.loads(detail),
    }
