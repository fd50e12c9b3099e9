"""Ranking backends for one circuit, by expected fidelity and queue time (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import attrs

from ._json import to_json
from ._models import Backend, Characterization
from ._selection import Backends, backend_list, known

__all__ = ["CircuitShape", "RankedBackend", "estimate_success", "rank_for_circuit"]


def _at_least(minimum: int) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and attribute.name == "measured_qubits":
            return
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{attribute.name} must be an integer, got {value!r}")
        if value < minimum:
            raise ValueError(f"{attribute.name} must be at least {minimum}, got {value}")

    return check


@attrs.frozen
class CircuitShape:
    """What ranking needs to know of a circuit: its width and its gate counts.

    Count native gates, as the circuit will run (IonQ compiles a CNOT to one two-qubit gate).
    `measured_qubits=None` means every qubit is measured.
    """

    qubits: int = attrs.field(validator=_at_least(1))
    one_qubit_gates: int = attrs.field(default=0, validator=_at_least(0))
    two_qubit_gates: int = attrs.field(default=0, validator=_at_least(0))
    measured_qubits: int | None = attrs.field(default=None, validator=_at_least(0))

    def __attrs_post_init__(self) -> None:
        if self.measured_qubits is not None and self.measured_qubits > self.qubits:
            raise ValueError(
                f"measured_qubits ({self.measured_qubits}) exceeds qubits ({self.qubits})"
            )

    @property
    def measured(self) -> int:
        """How many qubits are measured."""
        return self.qubits if self.measured_qubits is None else self.measured_qubits


def _fidelity(characterization: Characterization, key: str) -> float | None:
    stat = characterization.fidelity.get(key)
    value = None if stat is None else known(stat.value)
    return None if value is None else min(max(value, 0.0), 1.0)


def estimate_success(
    characterization: Characterization,
    *,
    one_qubit_gates: int,
    two_qubit_gates: int,
    measured_qubits: int,
) -> float | None:
    """Estimate a circuit's probability of running without error on this characterization.

        P = F1q ** one_qubit_gates  ×  F2q ** two_qubit_gates  ×  Fspam ** measured_qubits

    with the characterization's `1q`, `2q` and `spam` fidelities (the mean on v0.3, the median
    on v0.4), each clamped to [0, 1]. The result is in [0, 1] and never grows with a count.

    It is an independent-error estimate, good for comparing backends, not a simulation: it
    ignores crosstalk, decoherence while qubits idle (T1/T2 against the circuit's duration), the
    gates that routing adds on a machine that is not all-to-all, and the spread behind each
    figure (`stderr`). Counts are native gates after compilation.

    `None` when the characterization lacks a fidelity the circuit needs (a count of zero needs
    none). A negative count is a `ValueError`.
    """
    estimate = 1.0
    for key, count in (("1q", one_qubit_gates), ("2q", two_qubit_gates), ("spam", measured_qubits)):
        if count < 0:
            raise ValueError(f"gate and qubit counts must not be negative, got {count!r}")
        if count == 0:
            continue
        fidelity = _fidelity(characterization, key)
        if fidelity is None:
            return None
        estimate *= fidelity**count
    return estimate


@attrs.frozen
class RankedBackend:
    """One backend's place in `rank_for_circuit()`.

    `rank` counts from 1 among the backends that can run the circuit; it is `None`, and
    `excluded` says why, for the others. `expected_fidelity` is `estimate_success()` on
    `characterization`, `None` when that is missing or lacks a figure the circuit needs.
    """

    backend: Backend
    characterization: Characterization | None
    expected_fidelity: float | None
    calibration_age: timedelta | None
    rank: int | None = None
    excluded: str | None = None

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def queue_time(self) -> timedelta | None:
        """The backend's queue time, read as milliseconds (see `Backend.queue_time`)."""
        return None if known(self.backend.average_queue_time) is None else self.backend.queue_time

    def as_row(self) -> dict[str, Any]:
        """This entry as JSON-ready values: durations in seconds, datetimes as ISO-8601 strings."""
        c = self.characterization
        return {
            "rank": self.rank,
            "name": self.name,
            "status": str(self.backend.status),
            "qubits": self.backend.qubits,
            "degraded": self.backend.degraded_or_unknown,
            "expected_fidelity": self.expected_fidelity,
            "queue_time_s": to_json(self.queue_time),
            "characterization_id": None if c is None else c.id,
            "calibrated_at": None if c is None else to_json(c.date),
            "calibration_age_s": to_json(self.calibration_age),
            "excluded": self.excluded,
        }


def _expected(found: Characterization | None, circuit: CircuitShape) -> float | None:
    if found is None:
        return None
    return estimate_success(
        found,
        one_qubit_gates=circuit.one_qubit_gates,
        two_qubit_gates=circuit.two_qubit_gates,
        measured_qubits=circuit.measured,
    )


def _hours(value: timedelta) -> str:
    return f"{value.total_seconds() / 3600:.3g} h"


def _why_not(
    backend: Backend,
    age: timedelta | None,
    circuit: CircuitShape,
    *,
    include_degraded: bool,
    qpu_only: bool,
    max_calibration_age: timedelta | None,
) -> str | None:
    if not backend.runs_jobs:
        return f"status {backend.status}"
    if not include_degraded and backend.is_degraded:
        return "degraded"
    if qpu_only and not backend.name.startswith("qpu."):
        return "not a QPU"
    if backend.qubits is None:
        return "qubit count unknown"
    if backend.qubits < circuit.qubits:
        return f"{backend.qubits} qubits < {circuit.qubits}"
    if max_calibration_age is not None:
        if age is None:
            return "calibration age unknown"
        if age > max_calibration_age:
            return f"calibrated {_hours(age)} ago > {_hours(max_calibration_age)}"
    return None


def _by_fidelity(entry: RankedBackend) -> tuple[Any, ...]:
    fidelity, queue = entry.expected_fidelity, known(entry.backend.average_queue_time)
    qubits = entry.backend.qubits or 0
    return (fidelity is None, -(fidelity or 0.0), queue is None, queue or 0.0, -qubits, entry.name)


def _by_queue(entry: RankedBackend) -> tuple[Any, ...]:
    fidelity, queue = entry.expected_fidelity, known(entry.backend.average_queue_time)
    qubits = entry.backend.qubits or 0
    return (queue is None, queue or 0.0, fidelity is None, -(fidelity or 0.0), -qubits, entry.name)


def rank_for_circuit(
    backends: Backends,
    characterizations: Mapping[str, Characterization | None],
    circuit: CircuitShape,
    *,
    order_by: Literal["fidelity", "queue_time"] = "fidelity",
    include_degraded: bool = False,
    qpu_only: bool = False,
    max_calibration_age: timedelta | None = None,
    now: datetime | None = None,
) -> list[RankedBackend]:
    """Every backend of `backends`, ranked for `circuit`; the ones that cannot run it come last.

    `characterizations` maps names to each backend's characterization (a
    `CharacterizationsSnapshot` from `latest_characterizations()` fits); a name that is absent
    or `None` has no expected fidelity.

    A backend is excluded, with the reason in `excluded`, when it does not run jobs now, is
    degraded (unless `include_degraded`), is not a QPU (with `qpu_only`), has fewer qubits than
    the circuit or an unknown count, or (with `max_calibration_age`) was characterized longer
    ago than that before `now`, or at an unknown time.

    Order of the others, by `order_by`:

    - `"fidelity"` (default): highest expected fidelity first, unknown last; then shortest
      queue, unknown last; then more qubits; then name;
    - `"queue_time"`: shortest queue first, unknown last; then highest expected fidelity; then
      more qubits; then name.

    Excluded backends follow, by name. `now` (default: the current time) is when calibration
    ages are measured.
    """
    if order_by not in ("fidelity", "queue_time"):
        raise ValueError(f"order_by must be 'fidelity' or 'queue_time', got {order_by!r}")
    if now is not None and now.utcoffset() is None:
        raise ValueError(f"now must be an aware datetime, got {now!r}")
    moment = datetime.now(UTC) if now is None else now
    eligible: list[RankedBackend] = []
    excluded: list[RankedBackend] = []
    for backend in backend_list(backends):
        found = characterizations.get(backend.name)
        age = None if found is None else found.age(moment)
        reason = _why_not(backend, age, circuit, include_degraded=include_degraded,
                          qpu_only=qpu_only, max_calibration_age=max_calibration_age)  # fmt: skip
        entry = RankedBackend(backend, found, _expected(found, circuit), age, excluded=reason)
        (excluded if reason else eligible).append(entry)
    eligible.sort(key=_by_fidelity if order_by == "fidelity" else _by_queue)
    excluded.sort(key=lambda entry: entry.name)
    ranked = [attrs.evolve(entry, rank=i) for i, entry in enumerate(eligible, 1)]
    return ranked + excluded
