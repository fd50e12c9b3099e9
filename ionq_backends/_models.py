"""The attrs models every API version is structured into."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

import attrs

from ._errors import IonQError

__all__ = [
    "Backend",
    "BackendChange",
    "BackendName",
    "BackendStatus",
    "BackendsSnapshot",
    "Characterization",
    "CharacterizationPage",
    "CharacterizationsSnapshot",
    "ErrorRate",
    "FidelityStat",
    "PollRound",
    "Timing",
    "whole_fleet",
]


class BackendName(enum.StrEnum):
    """The backends `get_backends()` fans out over by default.

    Never a validation list: any name the API knows may be asked for, and `Backend.name` is a `str`.
    """

    ARIA_1 = "qpu.aria-1"
    ARIA_2 = "qpu.aria-2"
    FORTE_1 = "qpu.forte-1"
    FORTE_ENTERPRISE_1 = "qpu.forte-enterprise-1"
    FORTE_ENTERPRISE_2 = "qpu.forte-enterprise-2"
    FORTE_ENTERPRISE_3 = "qpu.forte-enterprise-3"


def whole_fleet(listed: Iterable[str] = ()) -> list[str]:
    """The whole fleet: every name the API listed, in its order, then every `BackendName` the
    list left out (so a retired one is still asked for, and shows as its error)."""
    return list(dict.fromkeys([*listed, *map(str, BackendName)]))  # names are plain `str`


class BackendStatus(enum.StrEnum):
    """Statuses the API is known to send; an unknown one stays a plain `str`."""

    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"
    RETIRED = "retired"
    # v0.4's docs list it among the status values, besides the boolean `degraded` field.
    DEGRADED = "degraded"
    # v0.3 with `?status=verbose`:
    RUNNING = "running"
    RESERVED = "reserved"
    CALIBRATING = "calibrating"
    OFFLINE = "offline"


_RUNS_JOBS = frozenset({BackendStatus.AVAILABLE, BackendStatus.RUNNING, BackendStatus.DEGRADED})


def _no_extra() -> Mapping[str, Any]:
    return {}


# A `__dict__`, not slots: attrs' frozen `__init__` then stores each field into the dict where
# the slotted one calls `object.__setattr__` (12.1k instructions for Backend's 16 fields against
# 19.6k, callgrind). One is built for every backend of every poll, and the request budget
# (benchmarks/instructions.py) holds only with it.
@attrs.frozen(slots=False)
class Backend:
    """One QPU or simulator as the API last described it.

    Fields the API omitted are `None`. `average_queue_time` is the raw wire number; IonQ does not
    document its unit, and `queue_time` reads it as milliseconds.
    """

    name: str
    status: BackendStatus | str
    api_version: str
    qubits: int | None = None
    average_queue_time: float | None = None
    last_updated: datetime | None = None
    degraded: bool | None = None
    characterization_id: str | None = None
    kw: float | None = None
    location: str | None = None
    supported_gates: tuple[str, ...] | None = None
    supported_native_gates: tuple[str, ...] | None = None
    supported_error_mitigations: tuple[str, ...] | None = None
    noise_models: tuple[str, ...] | None = None
    has_access: bool | None = None
    extra: Mapping[str, Any] = attrs.field(factory=_no_extra, hash=False)

    @property
    def queue_time(self) -> timedelta | None:
        """`average_queue_time` as a duration, read as milliseconds (IonQ leaves it unsaid)."""
        if self.average_queue_time is None:
            return None
        try:
            return timedelta(milliseconds=self.average_queue_time)
        except (OverflowError, ValueError):  # a value built by hand past timedelta's range, or NaN
            return None

    # The one definition of "runs jobs", "degraded" and "available", for select(), the page,
    # /metrics and the history alike.

    @property
    def runs_jobs(self) -> bool:
        """True when the backend runs jobs now: `available`, verbose `running`, or `degraded`
        (the v0.4 docs list it as a status: such a backend runs jobs, but degraded)."""
        return str(self.status) in _RUNS_JOBS

    @property
    def is_degraded(self) -> bool:
        """True when the API says so: `degraded: true`, or the status `degraded`."""
        return self.degraded is True or str(self.status) == BackendStatus.DEGRADED

    @property
    def degraded_or_unknown(self) -> bool | None:
        """`is_degraded`, but `None` when neither the flag nor the status says (for display)."""
        return True if self.is_degraded else self.degraded

    @property
    def is_available(self) -> bool:
        """True when the backend accepts and runs jobs now (`available`, or verbose `running`).

        A `degraded` status is not available (as qBraid maps it): IonQ does not say it runs jobs
        as usual. It still `runs_jobs`.
        """
        return self.runs_jobs and str(self.status) != BackendStatus.DEGRADED


@attrs.frozen
class FidelityStat:
    """One fidelity figure: `statistic` says which (`"mean"` in v0.3, `"median"` in v0.4).

    `extra` keeps whatever else the API sent beside it, as sent: the other statistic when both
    come (IonQ's own v0.3 example sends `mean` and `median`), and any key not known yet.
    """

    value: float | None
    stderr: float | None
    statistic: str
    extra: Mapping[str, Any] = attrs.field(factory=_no_extra, hash=False)


@attrs.frozen
class ErrorRate:
    """`1 − fidelity` for one fidelity key, with the fidelity's `stderr` and `statistic`."""

    value: float | None
    stderr: float | None
    statistic: str


@attrs.frozen
class Timing:
    """Characterized durations, in seconds. `one_qubit`/`two_qubit` are the wire's `1q`/`2q`."""

    t1: float | None = None
    t2: float | None = None
    one_qubit: float | None = None
    two_qubit: float | None = None
    readout: float | None = None
    reset: float | None = None
    extra: Mapping[str, Any] = attrs.field(factory=_no_extra, hash=False)


@attrs.frozen
class Characterization:
    """One characterization (calibration) of a backend.

    `fidelity` maps the wire keys (`"1q"`, `"2q"`, `"spam"`, and any new ones) to a `FidelityStat`.
    """

    id: str
    backend: str | None
    date: datetime | None
    api_version: str
    qubits: int | None = None
    connectivity: tuple[tuple[int, int], ...] = ()
    fidelity: Mapping[str, FidelityStat] = attrs.field(factory=_no_extra, hash=False)
    timing: Timing = attrs.field(factory=Timing)
    extra: Mapping[str, Any] = attrs.field(factory=_no_extra, hash=False)

    def age(self, now: datetime) -> timedelta | None:
        """How long before `now` (an aware datetime) this was characterized; `None` if undated.

        Negative when `date` is after `now` (clock skew), so that skew shows instead of hiding.
        """
        if now.utcoffset() is None:
            raise ValueError(f"now must be an aware datetime, got {now!r}")
        return None if self.date is None else now - self.date

    @property
    def error_rates(self) -> Mapping[str, ErrorRate]:
        """`1 − fidelity` per fidelity key (`"1q"`, `"2q"`, `"spam"`, ...), stderr carried over."""
        return {
            key: ErrorRate(None if s.value is None else 1.0 - s.value, s.stderr, s.statistic)
            for key, s in self.fidelity.items()
        }

    @property
    def couplings(self) -> frozenset[tuple[int, int]]:
        """The connectivity as undirected pairs `(a, b)`, `a < b`.

        A pair listed in either direction, or twice, counts once; a qubit paired with itself is
        dropped.
        """
        return frozenset((a, b) if a < b else (b, a) for a, b in self.connectivity if a != b)

    @property
    def coupling_map(self) -> tuple[tuple[int, int], ...]:
        """Every coupling in both directions, sorted: the symmetric map transpilers take."""
        return tuple(sorted(p for a, b in self.couplings for p in ((a, b), (b, a))))

    @property
    def is_all_to_all(self) -> bool | None:
        """Whether every two of qubits `0..qubits-1` are coupled; `None` if `qubits` is unknown."""
        if self.qubits is None:
            return None
        n = self.qubits
        inside = sum(1 for a, b in self.couplings if a >= 0 and b < n)
        return inside == max(n, 0) * max(n - 1, 0) // 2

    @property
    def degrees(self) -> Mapping[int, int]:
        """How many qubits each coupled qubit is coupled to, by qubit.

        A qubit coupled to none is absent (`degrees.get(q, 0)`): the map is as large as the
        connectivity, never as large as a `qubits` count the API might get wrong.
        """
        counts: dict[int, int] = {}
        for a, b in self.couplings:
            counts[a] = counts.get(a, 0) + 1
            counts[b] = counts.get(b, 0) + 1
        return dict(sorted(counts.items()))


@attrs.frozen
class CharacterizationPage:
    """One page of a characterizations listing; `pages` is the API's advisory "remaining pages"."""

    characterizations: tuple[Characterization, ...]
    pages: int | None


def _no_errors() -> Mapping[str, IonQError]:
    return {}


V = TypeVar("V")


class _Outcome(Mapping[str, V]):
    """A fan-out's outcome: a mapping of the names that succeeded, plus `errors` for the rest."""

    __slots__ = ()
    _what: ClassVar[str]  # the plural the error message counts
    errors: Mapping[str, IonQError]

    def _found(self) -> Mapping[str, V]:
        raise NotImplementedError

    def __getitem__(self, name: str) -> V:
        return self._found()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._found())

    def __len__(self) -> int:
        return len(self._found())

    def raise_for_errors(self) -> None:
        """Raise an `ExceptionGroup` of every failed name's error, if any failed."""
        if self.errors:
            total = len(self.errors) + len(self._found())
            raise ExceptionGroup(
                f"{len(self.errors)} of {total} {self._what} failed: " + ", ".join(self.errors),
                list(self.errors.values()),
            )


@attrs.frozen(eq=False)
class BackendsSnapshot(_Outcome[Backend]):
    """The outcome of one fan-out: a mapping of the names that succeeded, plus `errors`."""

    _what: ClassVar[str] = "backends"
    backends: Mapping[str, Backend]
    errors: Mapping[str, IonQError] = attrs.field(factory=_no_errors)
    fetched_at: datetime | None = None

    def _found(self) -> Mapping[str, Backend]:
        return self.backends


@attrs.frozen(eq=False)
class CharacterizationsSnapshot(_Outcome[Characterization | None]):
    """The outcome of `latest_characterizations()`: each backend's latest, plus `errors`.

    A value is `None` when the API has no characterization for that backend; a backend whose
    fetch failed is absent and its `IonQError` is in `errors`.
    """

    _what: ClassVar[str] = "characterizations"
    characterizations: Mapping[str, Characterization | None]
    errors: Mapping[str, IonQError] = attrs.field(factory=_no_errors)
    fetched_at: datetime | None = None

    def _found(self) -> Mapping[str, Characterization | None]:
        return self.characterizations


@attrs.frozen
class PollRound:
    """One round of `IonQClient.poll()`: the whole snapshot, and the changes it made.

    `started_at` is when the round's fan-out began; `duration` how long it took, in seconds.
    """

    snapshot: BackendsSnapshot
    changes: tuple[BackendChange, ...]
    started_at: datetime
    duration: float


@attrs.frozen
class BackendChange:
    """One event of `watch()`.

    `previous` is the last good value (`None` on the first round), `current` the new one (`None`
    when the fetch failed, then `error` says why). `changed_fields` names the fields that differ.
    `gone` is true, once, for a backend missing from the last rounds (the API no longer lists
    it): `current` and `error` are `None`, and it is forgotten.
    """

    name: str
    previous: Backend | None
    current: Backend | None
    error: IonQError | None = None
    changed_fields: tuple[str, ...] = ()
    gone: bool = False
