"""select() and least_busy(): pure, no sockets. Examples first, then hypothesis properties."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ionq_backends import Backend, BackendsSnapshot, BackendStatus, least_busy, select

from .factories import backend

FLEET = [
    backend("qpu.aria-1", qubits=25, average_queue_time=1_181_215.0, degraded=False),
    backend("qpu.aria-2", "unavailable", qubits=25, average_queue_time=0.0),
    backend("qpu.forte-1", qubits=36, average_queue_time=12_240_000.0),
    backend("qpu.forte-enterprise-1", BackendStatus.AVAILABLE, qubits=36,
            average_queue_time=540_000.0),
    backend("qpu.forte-enterprise-2", qubits=36, average_queue_time=10.0, degraded=True),
    backend("qpu.tempo-1", "degraded", qubits=64, average_queue_time=5.0),
    backend("qpu.new", "being-upgraded", qubits=80, average_queue_time=1.0),
    backend("qpu.quiet", qubits=36),  # no queue time at all
    backend("qpu.nan", qubits=36, average_queue_time=math.nan),
    backend("qpu.mystery", average_queue_time=2.0),  # no qubit count
    backend("simulator", BackendStatus.RUNNING, qubits=29, average_queue_time=20.0),
]  # fmt: skip


def names(backends: list[Backend]) -> list[str]:
    return [b.name for b in backends]


def test_default_keeps_what_runs_jobs_now_shortest_queue_first_unknown_last() -> None:
    assert names(select(FLEET)) == [
        "qpu.mystery", "simulator", "qpu.forte-enterprise-1", "qpu.aria-1", "qpu.forte-1",
        "qpu.nan", "qpu.quiet",  # unknown queue times last: more qubits, then name
    ]  # fmt: skip


def test_snapshot_mapping_and_iterable_give_the_same_answer() -> None:
    snapshot = BackendsSnapshot({b.name: b for b in FLEET})
    assert select(snapshot) == select(FLEET) == select(iter(FLEET))


def test_min_qubits_drops_unknown_counts_and_qpu_only_drops_the_simulator() -> None:
    assert names(select(FLEET, min_qubits=30, qpu_only=True)) == [
        "qpu.forte-enterprise-1", "qpu.forte-1", "qpu.nan", "qpu.quiet",
    ]  # fmt: skip


def test_degraded_flag_and_degraded_status_both_count_as_degraded() -> None:
    kept = names(select(FLEET, include_degraded=True))
    # Status "degraded" runs jobs (5 ms), beside the flagged one (10 ms):
    assert kept[:3] == ["qpu.mystery", "qpu.tempo-1", "qpu.forte-enterprise-2"]
    assert "qpu.tempo-1" not in names(select(FLEET))
    assert "qpu.forte-enterprise-2" not in names(select(FLEET))


def test_unknown_statuses_are_strings_to_ask_for() -> None:
    assert names(select(FLEET, available=False, statuses={"being-upgraded"})) == ["qpu.new"]
    assert names(select(FLEET, statuses={"being-upgraded"})) == []  # both filters apply
    unavailable = select(FLEET, available=False, statuses=[BackendStatus.UNAVAILABLE])
    assert names(unavailable) == ["qpu.aria-2"]
    everything = select(FLEET, available=False, include_degraded=True, order_by=None)
    assert everything == FLEET


def test_names_filter_and_other_orders() -> None:
    wanted = ["qpu.aria-1", "qpu.forte-1", "qpu.tempo-1", "qpu.quiet", "qpu.gone"]
    assert names(select(FLEET, names=wanted, order_by="name")) == [
        "qpu.aria-1", "qpu.forte-1", "qpu.quiet",
    ]  # fmt: skip
    by_qubits = names(select(FLEET, order_by="qubits"))
    assert by_qubits[:3] == ["qpu.forte-enterprise-1", "qpu.forte-1", "qpu.nan"]
    assert by_qubits[-1] == "qpu.mystery"  # unknown qubit count last
    by_key = names(select(FLEET, order_by=lambda b: b.qubits == 36))  # False first
    assert by_key == [
        "qpu.mystery", "simulator", "qpu.aria-1",
        "qpu.forte-enterprise-1", "qpu.forte-1", "qpu.nan", "qpu.quiet",
    ]  # fmt: skip


def test_least_busy() -> None:
    chosen = least_busy(FLEET, min_qubits=30)
    assert chosen is not None and chosen.name == "qpu.forte-enterprise-1"
    assert least_busy(FLEET, min_qubits=1000) is None
    assert least_busy([]) is None
    only_unknown = least_busy(FLEET, names=["qpu.quiet", "qpu.nan"])
    assert only_unknown is not None and only_unknown.name == "qpu.nan"  # 36 qubits each: by name


def test_least_busy_ties_go_to_more_qubits_then_name() -> None:
    tied = [
        backend("b", qubits=25, average_queue_time=5.0),
        backend("c", qubits=36, average_queue_time=5.0),
        backend("a", qubits=36, average_queue_time=5.0),
    ]
    assert names(select(tied)) == ["a", "c", "b"]
    assert least_busy(tied) == tied[2]


def test_caller_mistakes() -> None:
    with pytest.raises(TypeError, match="statuses"):
        select(FLEET, statuses="available")
    with pytest.raises(TypeError, match="names"):
        select(FLEET, names="qpu.aria-1")
    with pytest.raises(ValueError, match="order_by"):
        select(FLEET, order_by="queue")  # type: ignore[arg-type]


# Properties

STATUSES = st.sampled_from([*BackendStatus, "degraded", "being-upgraded", "", "AVAILABLE"])
QUEUES = st.none() | st.floats(allow_nan=True, allow_infinity=True) | st.integers(0, 10).map(float)


@st.composite
def backends(draw: st.DrawFn, unique: bool = True) -> list[Backend]:
    labels = st.text("abq.", min_size=1, max_size=4)
    drawn = draw(st.lists(labels, max_size=12, unique=unique))
    return [
        backend(
            name,
            draw(STATUSES),
            qubits=draw(st.none() | st.integers(-2, 70)),
            average_queue_time=draw(QUEUES),
            degraded=draw(st.none() | st.booleans()),
        )
        for name in drawn
    ]


FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "available": st.booleans(),
        "include_degraded": st.booleans(),
        "min_qubits": st.none() | st.integers(-1, 70),
        "statuses": st.none() | st.sets(STATUSES, max_size=3),
        "names": st.none() | st.sets(st.text("abq.", min_size=1, max_size=4), max_size=4),
        "qpu_only": st.booleans(),
    },
)
ORDERS = st.sampled_from(["queue_time", "qubits", "name", lambda b: len(b.name), None])


def passes(b: Backend, filters: dict[str, Any]) -> bool:
    """Each filter as select()'s docstring states it, written out independently."""
    status = str(b.status)
    degraded = b.degraded is True or status == "degraded"
    min_qubits = filters.get("min_qubits")
    return (
        (not filters.get("available", True) or status in ("available", "running", "degraded"))
        and (filters.get("include_degraded", False) or not degraded)
        and (min_qubits is None or (b.qubits is not None and b.qubits >= min_qubits))
        and (filters.get("statuses") is None or status in {str(s) for s in filters["statuses"]})
        and (filters.get("names") is None or b.name in filters["names"])
        and (not filters.get("qpu_only") or b.name.startswith("qpu."))
    )


@given(backends(), FILTERS)
def test_filters_keep_exactly_the_backends_that_meet_them(
    fleet: list[Backend], filters: dict[str, Any]
) -> None:
    kept = select(fleet, order_by=None, **filters)
    assert kept == [b for b in fleet if passes(b, filters)]


@given(backends(), FILTERS, ORDERS, st.randoms(use_true_random=False))
def test_the_order_is_total_whatever_the_input_order(
    fleet: list[Backend], filters: dict[str, Any], order_by: Any, rng: Any
) -> None:
    shuffled = list(fleet)
    rng.shuffle(shuffled)
    if order_by is None:  # the input order, kept
        assert select(shuffled, order_by=None, **filters) == [
            b for b in shuffled if passes(b, filters)
        ]
        return
    assert select(shuffled, order_by=order_by, **filters) == select(fleet, order_by=order_by,
                                                                    **filters)  # fmt: skip


@given(backends(unique=False), ORDERS)
def test_sorting_is_stable_and_idempotent(fleet: list[Backend], order_by: Any) -> None:
    once = select(fleet, available=False, include_degraded=True, order_by=order_by)
    assert select(once, available=False, include_degraded=True, order_by=order_by) == once
    assert sorted(map(id, once)) == sorted(map(id, fleet))  # a permutation: nothing lost or added


def known_queue(b: Backend) -> bool:
    return b.average_queue_time is not None and not math.isnan(b.average_queue_time)


@given(backends(), FILTERS)
def test_unknown_queue_times_sort_last_and_known_ones_ascend(
    fleet: list[Backend], filters: dict[str, Any]
) -> None:
    kept = select(fleet, **filters)
    flags = [known_queue(b) for b in kept]
    assert flags == sorted(flags, reverse=True)  # every known before every unknown
    queues = [b.average_queue_time for b in kept if known_queue(b)]
    assert queues == sorted(queues)  # type: ignore[type-var]


@given(backends(), FILTERS)
def test_least_busy_is_the_head_of_select(fleet: list[Backend], filters: dict[str, Any]) -> None:
    chosen = least_busy(fleet, **filters)
    kept = select(fleet, **filters)
    assert chosen is (kept[0] if kept else None)  # `is`: a NaN field is not == itself
    if chosen is not None and known_queue(chosen):
        assert all(
            chosen.average_queue_time <= b.average_queue_time  # type: ignore[operator]
            for b in kept
            if known_queue(b)
        )


ZERO_AND_TIES = [
    backend("qpu.e-unknown", qubits=36, average_queue_time=None),
    backend("qpu.d-wait", qubits=36, average_queue_time=0.5),
    backend("qpu.c-sizeless", qubits=None, average_queue_time=0.0),
    backend("qpu.b-narrow", qubits=0, average_queue_time=0.0),
    backend("qpu.a-wide", qubits=36, average_queue_time=0.0),
    backend("qpu.f-one", qubits=1, average_queue_time=0.0),
]


@pytest.mark.parametrize(
    ("order_by", "names"),
    [
        # A queue of 0 is known and shortest; ties go to more qubits (0 is a count, unknown is
        # last), then to the name.
        ("queue_time", ["qpu.a-wide", "qpu.f-one", "qpu.b-narrow", "qpu.c-sizeless",
                        "qpu.d-wait", "qpu.e-unknown"]),
        ("qubits", ["qpu.a-wide", "qpu.d-wait", "qpu.e-unknown", "qpu.f-one", "qpu.b-narrow",
                    "qpu.c-sizeless"]),
        ("name", ["qpu.a-wide", "qpu.b-narrow", "qpu.c-sizeless", "qpu.d-wait",
                  "qpu.e-unknown", "qpu.f-one"]),
    ],
)  # fmt: skip
def test_zero_is_a_value_and_ties_fall_to_the_next_key(order_by: str, names: list[str]) -> None:
    found = select(ZERO_AND_TIES, available=False, order_by=order_by)  # type: ignore[arg-type]
    assert [b.name for b in found] == names


def test_the_default_order_is_the_queue_and_least_busy_is_its_first() -> None:
    assert [b.name for b in select(ZERO_AND_TIES, available=False)][:2] == [
        "qpu.a-wide", "qpu.f-one"]  # fmt: skip
    assert least_busy(ZERO_AND_TIES, available=False) == ZERO_AND_TIES[4]


def test_a_name_or_status_filter_skips_only_what_it_leaves_out() -> None:
    kept = select(ZERO_AND_TIES, available=False, names=["qpu.d-wait", "qpu.b-narrow"])
    assert [b.name for b in kept] == ["qpu.b-narrow", "qpu.d-wait"]
    fleet = [backend("simulator", average_queue_time=0.0), *ZERO_AND_TIES]
    qpus = select(fleet, statuses=["available"], qpu_only=True, available=False)
    assert [b.name for b in qpus] == [b.name for b in select(ZERO_AND_TIES, available=False)]


@pytest.mark.parametrize("what", ["names", "statuses"])
def test_one_string_for_many_is_refused_by_name(what: str) -> None:
    with pytest.raises(TypeError) as raised:
        select(ZERO_AND_TIES, **{what: "qpu.a-wide"})  # type: ignore[arg-type]
    assert str(raised.value) == f"{what} must be an iterable of strings, not one string"


def test_an_unknown_order_is_refused_naming_each_known_one() -> None:
    with pytest.raises(ValueError, match=r"^order_by must be") as raised:
        select(ZERO_AND_TIES, order_by="size")  # type: ignore[arg-type]
    known = "'queue_time', 'qubits', 'name', a callable or None"
    assert str(raised.value) == f"order_by must be {known}, got 'size'"
