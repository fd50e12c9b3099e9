"""CircuitShape and rank_for_circuit(): pure, no sockets."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ionq_backends import (
    Backend,
    BackendsSnapshot,
    Characterization,
    CharacterizationsSnapshot,
    CircuitShape,
    FidelityStat,
    RankedBackend,
    rank_for_circuit,
)

from .factories import backend

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def calibration(
    two_q: float | None, *, hours_ago: float = 5, one_q: float = 0.9998, spam: float = 0.995
) -> Characterization:
    fidelity = {
        "1q": FidelityStat(one_q, 2e-5, "median"),
        "2q": FidelityStat(two_q, 0.001, "median"),
        "spam": FidelityStat(spam, None, "median"),
    }
    return Characterization(f"c-{two_q}", None, NOW - timedelta(hours=hours_ago), "v0.4",
                            fidelity=fidelity)  # fmt: skip


FLEET = BackendsSnapshot({b.name: b for b in [
    backend("qpu.good", qubits=36, average_queue_time=3_600_000.0),
    backend("qpu.good-twin", qubits=36, average_queue_time=60_000.0),
    backend("qpu.better", qubits=64, average_queue_time=86_400_000.0),
    backend("qpu.small", qubits=25, average_queue_time=0.0),
    backend("qpu.down", "unavailable", qubits=36, average_queue_time=0.0),
    backend("qpu.shaky", qubits=36, average_queue_time=0.0, degraded=True),
    backend("qpu.sizeless", average_queue_time=0.0),
    backend("qpu.uncalibrated", qubits=36, average_queue_time=1.0),
    backend("qpu.no-2q", qubits=36, average_queue_time=2.0),
    backend("qpu.stale", qubits=36, average_queue_time=3.0),
    backend("simulator", qubits=40, average_queue_time=20.0),
]})  # fmt: skip
CALIBRATIONS = {
    "qpu.good": calibration(0.99),
    "qpu.good-twin": calibration(0.99),
    "qpu.better": calibration(0.997),
    "qpu.small": calibration(0.999),
    "qpu.down": calibration(0.999),
    "qpu.shaky": calibration(0.999),
    "qpu.uncalibrated": None,
    "qpu.no-2q": calibration(None),
    "qpu.stale": calibration(0.98, hours_ago=72),
}
CIRCUIT = CircuitShape(qubits=30, one_qubit_gates=100, two_qubit_gates=50, measured_qubits=30)


def test_circuit_shape_validates_and_defaults_measured_to_all() -> None:
    assert CircuitShape(qubits=5).measured == 5
    assert CircuitShape(qubits=5, measured_qubits=0).measured == 0
    with pytest.raises(ValueError, match="qubits must be at least 1"):
        CircuitShape(qubits=0)
    with pytest.raises(ValueError, match="two_qubit_gates"):
        CircuitShape(qubits=2, two_qubit_gates=-1)
    with pytest.raises(ValueError, match="exceeds"):
        CircuitShape(qubits=2, measured_qubits=3)
    with pytest.raises(TypeError, match="integer"):
        CircuitShape(qubits=2, one_qubit_gates=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="integer"):
        CircuitShape(qubits=True)


@pytest.mark.parametrize(
    ("given", "refusal"),
    [
        ({"qubits": 0}, "qubits must be at least 1, got 0"),
        ({"qubits": 1}, None),
        ({"qubits": 2, "one_qubit_gates": -1}, "one_qubit_gates must be at least 0, got -1"),
        ({"qubits": 2, "one_qubit_gates": 0}, None),
        ({"qubits": 2, "two_qubit_gates": -1}, "two_qubit_gates must be at least 0, got -1"),
        ({"qubits": 2, "measured_qubits": -1}, "measured_qubits must be at least 0, got -1"),
        ({"qubits": 2, "measured_qubits": 0}, None),
        ({"qubits": 2, "measured_qubits": 2}, None),
        ({"qubits": 2, "measured_qubits": 3}, "measured_qubits (3) exceeds qubits (2)"),
        ({"qubits": 2.0}, "qubits must be an integer, got 2.0"),
        ({"qubits": 2, "measured_qubits": False}, "measured_qubits must be an integer, got False"),
    ],
)
def test_a_circuit_shape_takes_each_count_down_to_its_limit(
    given: dict[str, Any], refusal: str | None
) -> None:
    if refusal is None:
        assert CircuitShape(**given).qubits == given["qubits"]
    else:
        with pytest.raises((TypeError, ValueError)) as raised:
            CircuitShape(**given)
        assert str(raised.value) == refusal


def test_ranking_by_expected_fidelity_then_queue() -> None:
    ranked = rank_for_circuit(FLEET, CALIBRATIONS, CIRCUIT, now=NOW)
    assert [(r.rank, r.name) for r in ranked] == [
        (1, "qpu.better"),
        (2, "qpu.good-twin"),  # the same fidelity as qpu.good, a shorter queue
        (3, "qpu.good"),
        (4, "qpu.stale"),
        (5, "qpu.uncalibrated"),  # unknown fidelity after every known one, by queue
        (6, "qpu.no-2q"),
        (7, "simulator"),
        (None, "qpu.down"),
        (None, "qpu.shaky"),
        (None, "qpu.sizeless"),
        (None, "qpu.small"),
    ]
    reasons = {r.name: r.excluded for r in ranked if r.excluded}
    assert reasons == {
        "qpu.down": "status unavailable",
        "qpu.shaky": "degraded",
        "qpu.sizeless": "qubit count unknown",
        "qpu.small": "25 qubits < 30",
    }
    best = ranked[0]
    assert best.expected_fidelity == pytest.approx(0.9998**100 * 0.997**50 * 0.995**30)
    assert best.calibration_age == timedelta(hours=5)
    assert best.queue_time == timedelta(days=1)
    assert best.characterization is CALIBRATIONS["qpu.better"]
    assert ranked[4].expected_fidelity is None and ranked[4].calibration_age is None


def test_queue_first_degraded_qpu_only_and_calibration_age() -> None:
    ranked = rank_for_circuit(FLEET, CALIBRATIONS, CIRCUIT, now=NOW, order_by="queue_time",
                              include_degraded=True, qpu_only=True,
                              max_calibration_age=timedelta(days=1))  # fmt: skip
    eligible = [r.name for r in ranked if r.rank]
    # By queue; qpu.no-2q (5 h old, no 2q fidelity) is ranked though its fidelity is unknown.
    assert eligible == ["qpu.shaky", "qpu.no-2q", "qpu.good-twin", "qpu.good", "qpu.better"]
    reasons = {r.name: r.excluded for r in ranked if r.excluded}
    assert reasons["qpu.stale"] == "calibrated 72 h ago > 24 h"
    assert reasons["qpu.uncalibrated"] == "calibration age unknown"
    assert reasons["simulator"] == "not a QPU"


def test_a_characterizations_snapshot_fits_and_absent_names_are_unknown() -> None:
    snapshot = CharacterizationsSnapshot({"qpu.good": calibration(0.99)}, fetched_at=NOW)
    ranked = rank_for_circuit(list(FLEET.values()), snapshot, CIRCUIT, now=NOW)
    assert ranked[0].name == "qpu.good"
    assert all(r.expected_fidelity is None for r in ranked[1:])


def test_rows_are_json_ready() -> None:
    ranked = rank_for_circuit(FLEET, CALIBRATIONS, CIRCUIT, now=NOW)
    rows = json.loads(json.dumps([r.as_row() for r in ranked]))
    assert rows[0] == {
        "rank": 1,
        "name": "qpu.better",
        "status": "available",
        "qubits": 64,
        "degraded": None,
        "expected_fidelity": pytest.approx(ranked[0].expected_fidelity),
        "queue_time_s": 86400.0,
        "characterization_id": "c-0.997",
        "calibrated_at": "2026-11-21T07:00:00Z",
        "calibration_age_s": 18000.0,
        "excluded": None,
    }
    assert rows[-1]["excluded"] == "25 qubits < 30"
    assert rows[-1]["rank"] is None


def test_caller_mistakes() -> None:
    with pytest.raises(ValueError, match="aware"):
        rank_for_circuit(FLEET, {}, CIRCUIT, now=datetime(2026, 1, 1))  # naive
    with pytest.raises(ValueError, match="order_by"):
        rank_for_circuit(FLEET, {}, CIRCUIT, order_by="qubits")  # type: ignore[arg-type]


# Properties

STATUSES = st.sampled_from(["available", "running", "unavailable", "degraded", "new-thing"])
MAYBE_FLOAT = st.none() | st.floats(allow_nan=True, allow_infinity=True)


@st.composite
def fleets(draw: st.DrawFn) -> tuple[list[Backend], dict[str, Characterization | None]]:
    labels = draw(st.lists(st.text("qab.", min_size=1, max_size=4), unique=True, max_size=10))
    found: dict[str, Characterization | None] = {}
    fleet = []
    for name in labels:
        fleet.append(backend(name, draw(STATUSES), qubits=draw(st.none() | st.integers(0, 40)),
                             average_queue_time=draw(MAYBE_FLOAT),
                             degraded=draw(st.none() | st.booleans())))  # fmt: skip
        if draw(st.booleans()):
            stats = {key: FidelityStat(draw(MAYBE_FLOAT), None, "median")
                     for key in ("1q", "2q", "spam")}  # fmt: skip
            hours = draw(st.none() | st.floats(-5, 500))
            date = None if hours is None else NOW - timedelta(hours=hours)
            found[name] = Characterization(name, name, date, "v0.4", fidelity=stats)
        elif draw(st.booleans()):
            found[name] = None
    return fleet, found


CIRCUITS = st.builds(
    CircuitShape,
    qubits=st.integers(1, 40),
    one_qubit_gates=st.integers(0, 500),
    two_qubit_gates=st.integers(0, 500),
)
OPTIONS = st.fixed_dictionaries({}, optional={
    "order_by": st.sampled_from(["fidelity", "queue_time"]),
    "include_degraded": st.booleans(),
    "qpu_only": st.booleans(),
    "max_calibration_age": st.none() | st.integers(1, 300).map(lambda h: timedelta(hours=h)),
})  # fmt: skip


def known(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


@given(fleets(), CIRCUITS, OPTIONS, st.randoms(use_true_random=False))
def test_ranking_properties(
    data: tuple[list[Backend], dict[str, Characterization | None]],
    circuit: CircuitShape,
    options: dict[str, Any],
    rng: Any,
) -> None:
    fleet, found = data
    ranked = rank_for_circuit(fleet, found, circuit, now=NOW, **options)
    assert sorted(r.name for r in ranked) == sorted(b.name for b in fleet)
    eligible = [r for r in ranked if r.excluded is None]
    assert ranked[: len(eligible)] == eligible  # the excluded come last
    assert [r.rank for r in eligible] == list(range(1, len(eligible) + 1))
    assert all(r.rank is None and r.excluded for r in ranked[len(eligible) :])
    for r in eligible:  # nothing that breaks a condition is ranked
        status = str(r.backend.status)
        assert status in ("available", "running", "degraded")
        assert r.backend.qubits is not None and r.backend.qubits >= circuit.qubits
        degraded = r.backend.degraded is True or status == "degraded"
        assert options.get("include_degraded", False) or not degraded
        assert not options.get("qpu_only") or r.name.startswith("qpu.")
        limit = options.get("max_calibration_age")
        assert limit is None or (r.calibration_age is not None and r.calibration_age <= limit)
        assert r.expected_fidelity is None or 0.0 <= r.expected_fidelity <= 1.0
    if options.get("order_by", "fidelity") == "fidelity":
        flags = [r.expected_fidelity is not None for r in eligible]
        assert flags == sorted(flags, reverse=True)
        scores = [r.expected_fidelity for r in eligible if r.expected_fidelity is not None]
        assert scores == sorted(scores, reverse=True)
    else:
        flags = [known(r.backend.average_queue_time) for r in eligible]
        assert flags == sorted(flags, reverse=True)
    shuffled = list(fleet)
    rng.shuffle(shuffled)
    again = rank_for_circuit(shuffled, found, circuit, now=NOW, **options)
    assert [(r.name, r.rank, r.excluded) for r in again] == [
        (r.name, r.rank, r.excluded) for r in ranked
    ]  # the same order whatever the input order (compared by name: a NaN is not == itself)


def test_ranked_backend_is_frozen() -> None:
    entry = rank_for_circuit(FLEET, CALIBRATIONS, CIRCUIT, now=NOW)[0]
    assert isinstance(entry, RankedBackend)
    with pytest.raises(AttributeError):
        entry.rank = 2  # type: ignore[misc]


def test_zero_is_a_value_and_ties_fall_to_qubits_then_name() -> None:
    """A fidelity or queue of exactly 0 is known (not missing); equal ones go to the wider
    backend, then by name, so an order never depends on the order the fleet came in."""
    fleet = BackendsSnapshot({b.name: b for b in [
        backend("qpu.a-zero-fidelity", qubits=36, average_queue_time=0.0),
        backend("qpu.b-narrow", qubits=30, average_queue_time=0.0),
        backend("qpu.c-wide", qubits=36, average_queue_time=0.0),
        backend("qpu.d-wait", qubits=36, average_queue_time=0.5),
        backend("qpu.e-unknown", qubits=36, average_queue_time=None),
    ]})  # fmt: skip
    low = calibration(0.9)
    shapes = {"qpu.a-zero-fidelity": calibration(0.0), "qpu.b-narrow": low, "qpu.c-wide": low,
              "qpu.d-wait": low, "qpu.e-unknown": low}  # fmt: skip
    circuit = CircuitShape(qubits=30, two_qubit_gates=1, measured_qubits=0)
    by_fidelity = rank_for_circuit(fleet, shapes, circuit, now=NOW)
    assert [r.name for r in by_fidelity] == [
        "qpu.c-wide", "qpu.b-narrow", "qpu.d-wait", "qpu.e-unknown",
        "qpu.a-zero-fidelity"]  # fmt: skip
    by_queue = rank_for_circuit(fleet, shapes, circuit, now=NOW, order_by="queue_time")
    assert [r.name for r in by_queue] == [
        "qpu.c-wide", "qpu.b-narrow", "qpu.a-zero-fidelity", "qpu.d-wait",
        "qpu.e-unknown"]  # fmt: skip
    assert by_fidelity[-1].expected_fidelity == 0.0  # known, and worst


def test_a_backend_exactly_as_wide_and_exactly_as_fresh_as_asked_is_ranked() -> None:
    fleet = BackendsSnapshot({"qpu.a": backend("qpu.a", qubits=30, average_queue_time=0.0)})
    ranked = rank_for_circuit(fleet, {"qpu.a": calibration(0.99, hours_ago=24)}, CIRCUIT,
                              now=NOW, max_calibration_age=timedelta(hours=24))  # fmt: skip
    assert [(r.rank, r.excluded) for r in ranked] == [(1, None)]
