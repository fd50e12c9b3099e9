"""The fleet as the monitor last saw it (pure: rounds in, views, JSON and health out)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import attrs

from .._errors import APIStatusError, IonQError
from .._json import to_json
from .._models import Backend, BackendsSnapshot, Characterization
from .._watch import error_key
from .._wire.dates import iso_z
from ._constants import CHARACTERIZATION_MIN_REFRESH, CHARACTERIZATION_RETRY

__all__ = [
    "BackendView",
    "ErrorInfo",
    "FleetState",
    "Health",
    "iso",
]


def iso(moment: datetime | None) -> str | None:
    """`2026-11-21T20:38:00.123Z`, or `None`."""
    if moment is None:
        return None
    return iso_z(moment, "milliseconds")


@attrs.frozen
class ErrorInfo:
    """What went wrong for one backend, without the exception (it may hold a traceback)."""

    type: str
    message: str
    status_code: int | None
    at: datetime
    key: tuple[str, int | None, str]  # what makes it the same error: `watch()`'s `error_key`

    @classmethod
    def of(cls, error: IonQError, at: datetime) -> ErrorInfo:
        # str(error) names method, path and request id; errors never hold the API key.
        status = error.status_code if isinstance(error, APIStatusError) else None
        return cls(type(error).__name__, str(error), status, at, error_key(error))

    def same_as(self, other: ErrorInfo | None) -> bool:
        """The same error, whatever its request id: it began with the first of them."""
        return other is not None and self.key == other.key

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "message": self.message,
            "status_code": self.status_code,
            "at": iso(self.at),
        }


@attrs.define
class BackendView:
    """One backend: its last good value, its error state and its latest characterization."""

    name: str
    backend: Backend | None = None
    seen_at: datetime | None = None  # our clock: the last round that fetched it
    error: ErrorInfo | None = None  # set while its latest fetch failed
    error_since: datetime | None = None
    last_error: ErrorInfo | None = None  # the latest error, kept after recovery
    failed_rounds: int = 0  # in a row
    characterization: Characterization | None = None
    characterization_error: ErrorInfo | None = None
    characterization_checked: datetime | None = None
    # What the stored characterization was fetched for: (characterization_id, last_updated).
    characterization_key: tuple[str | None, datetime | None] | None = None
    characterization_pending: bool = False

    def fresh(self, now: datetime, stale_after: float) -> bool:
        """Whether its value is known now: its latest fetch succeeded, `stale_after` s ago at
        most. A stale backend is never shown or exported as up, whatever it was."""
        return (
            self.backend is not None
            and self.error is None
            and self.seen_at is not None
            and (now - self.seen_at).total_seconds() <= stale_after
        )

    def characterization_due(self, now: datetime) -> bool:
        """Fetch the latest characterization now? Only when it may have changed.

        At start; at once when `characterization_id` changes; when `last_updated` changes for a
        backend without an id, at most every CHARACTERIZATION_MIN_REFRESH s; and after a failed
        fetch, every CHARACTERIZATION_RETRY s.
        """
        if self.backend is None or self.characterization_pending:
            return False
        if self.characterization_checked is None or self.characterization_key is None:
            return True
        since = (now - self.characterization_checked).total_seconds()
        if self.characterization_error is not None:
            return since >= CHARACTERIZATION_RETRY
        key = _characterization_key(self.backend)
        if key == self.characterization_key:
            return False
        if key[0] is not None:  # a new id: the same one was answered above
            return True
        return since >= CHARACTERIZATION_MIN_REFRESH

    def to_json(self, fresh: bool) -> dict[str, Any]:
        """Its row; `fresh` as `self.fresh(...)` says (stale: `available` is false, and
        `status` is the last known one)."""
        b = self.backend
        c = self.characterization
        return {
            "name": self.name,
            "stale": not fresh,
            "status": None if b is None else to_json(b.status),
            "available": fresh and b is not None and b.is_available,
            "runs_jobs": None if b is None else b.runs_jobs,
            "qubits": None if b is None else b.qubits,
            "queue_seconds": None if b is None else queue_seconds(b),
            "degraded": None if b is None else b.degraded_or_unknown,
            "last_updated": None if b is None else iso(b.last_updated),
            "api_version": None if b is None else b.api_version,
            "seen_at": iso(self.seen_at),
            "error": None if self.error is None else self.error.to_json(),
            "error_since": iso(self.error_since),
            "last_error": None if self.last_error is None else self.last_error.to_json(),
            "failed_rounds": self.failed_rounds,
            "characterization": None
            if c is None
            else {
                "id": c.id,
                "date": iso(c.date),
                "fidelity": {kind: stat.value for kind, stat in c.fidelity.items()},
            },
            "characterization_error": None
            if self.characterization_error is None
            else self.characterization_error.to_json(),
        }


def queue_seconds(backend: Backend) -> float | None:
    """`average_queue_time` in seconds, read as milliseconds as `Backend.queue_time` does."""
    queue = backend.queue_time
    return None if queue is None else queue.total_seconds()


def _characterization_key(backend: Backend) -> tuple[str | None, datetime | None]:
    # With an id, the id alone says whether it changed; without one, `last_updated` is the hint
    # (IonQ's manual says it is when the characterization data was last updated).
    cid = backend.characterization_id
    return (cid, None) if cid is not None else (None, backend.last_updated)


@attrs.frozen
class Health:
    """What /healthz answers: `ok` gives 200, anything else 503."""

    ok: bool
    status: str
    message: str


class FleetState:
    """Every watched backend's view, plus the round count and the fleet-wide failure streak."""

    def __init__(self, names: Iterable[str] = (), *, stale_after: float = math.inf) -> None:
        self.views: dict[str, BackendView] = {}
        self.stale_after = stale_after  # seconds after its last good fetch a value is stale
        self.rounds = 0
        self.last_round_started: datetime | None = None
        self.last_round_ended: datetime | None = None
        self.last_round_duration: float | None = None
        self.all_failed_rounds = 0  # rounds in a row in which every backend failed
        self.add(names)

    def add(self, names: Iterable[str]) -> None:
        """Watch these names too (order kept; known names are left as they are)."""
        for name in names:
            self.views.setdefault(name, BackendView(name))

    def forget(self, name: str) -> None:
        """Stop showing `name` (gone from the fleet); the history keeps its past."""
        self.views.pop(name, None)

    def apply_round(self, snapshot: BackendsSnapshot, started: datetime, duration: float) -> None:
        """Fold one round's snapshot in; `started` is when its fan-out began."""
        for name, backend in snapshot.items():
            view = self.views.setdefault(name, BackendView(name))
            view.backend = backend
            view.seen_at = started
            view.error = None
            view.error_since = None
            view.failed_rounds = 0
        for name, exc in snapshot.errors.items():
            view = self.views.setdefault(name, BackendView(name))
            info = ErrorInfo.of(exc, started)
            if not info.same_as(view.error):
                view.error_since = started
            view.error = info
            view.last_error = info
            view.failed_rounds += 1
        failed_all = bool(snapshot.errors) and not len(snapshot)
        self.all_failed_rounds = self.all_failed_rounds + 1 if failed_all else 0
        self.rounds += 1
        self.last_round_started = started
        self.last_round_duration = duration
        self.last_round_ended = started + timedelta(seconds=duration)

    def characterizations_due(self, now: datetime) -> list[Backend]:
        """The backends whose latest characterization should be fetched now."""
        return [
            view.backend
            for view in self.views.values()
            if view.backend is not None and view.characterization_due(now)
        ]

    def characterization_started(self, name: str) -> None:
        self.views[name].characterization_pending = True

    def set_characterization(
        self,
        backend: Backend,
        result: Characterization | IonQError | None,
        now: datetime,
    ) -> None:
        """Store a fetch's outcome; a failed fetch keeps the previous characterization."""
        view = self.views[backend.name]
        view.characterization_pending = False
        view.characterization_checked = now
        view.characterization_key = _characterization_key(backend)
        if isinstance(result, IonQError):
            view.characterization_error = ErrorInfo.of(result, now)
            return
        view.characterization_error = None
        view.characterization = result

    def health(self, now: datetime, *, failed_rounds: int, stalled_after: float) -> Health:
        """Ready after the first round; unhealthy when every backend failed `failed_rounds` rounds
        in a row, or when no round has ended for `stalled_after` seconds."""
        if self.rounds == 0 or self.last_round_ended is None:
            return Health(False, "starting", "no polling round has finished yet")
        if self.all_failed_rounds >= failed_rounds:
            return Health(
                False,
                "failing",
                f"every backend failed the last {self.all_failed_rounds} rounds",
            )
        idle = (now - self.last_round_ended).total_seconds()
        if idle > stalled_after:
            return Health(False, "stalled", f"no polling round has ended for {idle:.0f} s")
        return Health(True, "ok", f"{self.rounds} rounds")

    def to_json(self, now: datetime, interval: float) -> dict[str, Any]:
        """The fleet as /api/fleet and the live page's events carry it."""
        return {
            "now": iso(now),
            "interval": interval,
            "rounds": self.rounds,
            "last_round": {
                "started": iso(self.last_round_started),
                "ended": iso(self.last_round_ended),
                "duration": self.last_round_duration,
            },
            "backends": [
                view.to_json(view.fresh(now, self.stale_after)) for view in self.views.values()
            ],
        }

    def fresh(self, now: datetime) -> list[Backend]:
        """The backends whose value is known now (`BackendView.fresh`), for `select()`."""
        return [v.backend for v in self.views.values()
                if v.backend is not None and v.fresh(now, self.stale_after)]  # fmt: skip
