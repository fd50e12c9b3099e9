"""Pure change detection for `watch()`: successive snapshots in, `BackendChange` events out."""

from __future__ import annotations

import attrs

from ._constants import GONE_AFTER_ROUNDS
from ._errors import IonQError
from ._models import Backend, BackendChange, BackendsSnapshot

__all__ = ["Watcher", "error_key"]

_FIELDS = tuple(field.name for field in attrs.fields(Backend))


def _differs(a: object, b: object) -> bool:
    # NaN != NaN: an unknown key holding NaN in `extra` would look changed on every round.
    return a != b and repr(a) != repr(b)


def error_key(error: IonQError) -> tuple[str, int | None, str]:
    # Not the request id: every failed request has a new one, and it is still the same error.
    return type(error).__name__, getattr(error, "status_code", None), error.message


class Watcher:
    """Remember the last good value and the current error of each backend between rounds."""

    def __init__(self, ignore: frozenset[str]) -> None:
        unknown = ignore - set(_FIELDS)
        if unknown:
            raise ValueError(f"ignore names no Backend field: {', '.join(sorted(unknown))}")
        self._compared = tuple(name for name in _FIELDS if name not in ignore)
        self._good: dict[str, Backend] = {}
        self._failing: dict[str, tuple[str, int | None, str]] = {}
        self._seen: set[str] = set()
        self._missing: dict[str, int] = {}  # a seen name -> rounds in a row it was not in

    def changed_fields(self, previous: Backend, current: Backend) -> tuple[str, ...]:
        """The compared fields whose values differ (`extra` included)."""
        return tuple(
            name
            for name in self._compared
            if _differs(getattr(previous, name), getattr(current, name))
        )

    def update(self, snapshot: BackendsSnapshot) -> list[BackendChange]:
        """Fold one round in and return its events."""
        changes: list[BackendChange] = []
        for name, current in snapshot.items():
            previous = self._good.get(name)
            first = name not in self._seen
            recovered = self._failing.pop(name, None) is not None
            self._seen.add(name)
            self._good[name] = current
            if first:
                changes.append(BackendChange(name, None, current))
                continue
            changed = self.changed_fields(previous, current) if previous is not None else ()
            if changed or recovered:
                changes.append(BackendChange(name, previous, current, None, changed))
        for name, error in snapshot.errors.items():
            self._seen.add(name)
            key = error_key(error)
            if self._failing.get(name) == key:
                continue
            self._failing[name] = key
            changes.append(BackendChange(name, self._good.get(name), None, error))
        changes.extend(self._gone(snapshot))
        return changes

    def _gone(self, snapshot: BackendsSnapshot) -> list[BackendChange]:
        """One event for each name missing from GONE_AFTER_ROUNDS rounds in a row; then it is
        forgotten, so names that churn every round cost no memory that grows."""
        present = snapshot.keys() | snapshot.errors.keys()
        for name in present:
            self._missing.pop(name, None)
        gone = []
        for name in self._seen - present:
            missed = self._missing[name] = self._missing.get(name, 0) + 1
            if missed >= GONE_AFTER_ROUNDS:
                gone.append(BackendChange(name, self._good.pop(name, None), None, gone=True))
                self._seen.discard(name)
                self._failing.pop(name, None)
                del self._missing[name]
        return gone
