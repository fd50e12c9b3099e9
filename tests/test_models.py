"""Calibration views on Characterization and estimate_success(): pure, no sockets."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ionq_backends import (
    BackendsSnapshot,
    Characterization,
    ErrorRate,
    estimate_success,
    make_converter,
)
from ionq_backends.emulator._fleet import default_fleet
from ionq_backends.emulator._versions import RENDERINGS

from .factories import NOW, backend, characterization, server_error


def test_age_is_now_minus_date() -> None:
    assert characterization().age(NOW) == timedelta(hours=5)
    later = NOW.astimezone(timezone(timedelta(hours=-5)))  # same instant, another zone
    assert characterization().age(later) == timedelta(hours=5)
    assert characterization(date=NOW + timedelta(minutes=1)).age(NOW) == timedelta(minutes=-1)
    assert characterization(date=None).age(NOW) is None
    with pytest.raises(ValueError, match="aware"):
        characterization().age(datetime(2026, 11, 21))  # naive


def test_error_rates_carry_stderr_and_statistic() -> None:
    c = characterization({"1q": 0.9998, "2q": 0.9863, "spam": None, "3q": 0.9})
    rates = c.error_rates
    assert set(rates) == {"1q", "2q", "spam", "3q"}  # new keys come along
    assert rates["2q"] == ErrorRate(pytest.approx(0.0137), 0.001, "median")  # type: ignore[arg-type]
    assert rates["1q"].stderr is None
    assert rates["spam"] == ErrorRate(None, None, "median")


def test_emulator_characterization_in_both_versions() -> None:
    """The emulator's aria-1, through the real converters: all-to-all over 25 qubits."""
    item = default_fleet(NOW)["qpu.aria-1"].characterizations[0]
    for version in ("v0.3", "v0.4"):
        c = make_converter(version).structure(RENDERINGS[version].characterization(item),
                                              Characterization)  # fmt: skip
        assert c.is_all_to_all is True
        assert len(c.couplings) == 25 * 24 // 2
        assert c.degrees == dict.fromkeys(range(25), 24)
        assert c.error_rates["spam"].stderr is None  # the live API's null, kept
        assert c.error_rates["2q"].statistic == ("mean" if version == "v0.3" else "median")
        assert c.age(NOW) == NOW - NOW.replace(hour=0)


def test_couplings_deduplicate_symmetrize_and_drop_self_pairs() -> None:
    c = characterization(connectivity=((1, 0), (0, 1), (2, 1), (2, 2), (1, 2)), qubits=4)
    assert c.couplings == frozenset({(0, 1), (1, 2)})
    assert c.coupling_map == ((0, 1), (1, 0), (1, 2), (2, 1))
    assert c.degrees == {0: 1, 1: 2, 2: 1}  # qubit 3 is coupled to none: absent
    assert c.is_all_to_all is False


def test_all_to_all_needs_every_pair_and_a_known_size() -> None:
    pairs = tuple((a, b) for a in range(3) for b in range(a + 1, 3))
    assert characterization(connectivity=pairs, qubits=3).is_all_to_all is True
    assert characterization(connectivity=pairs[1:], qubits=3).is_all_to_all is False
    assert characterization(connectivity=pairs, qubits=4).is_all_to_all is False
    assert characterization(connectivity=pairs, qubits=None).is_all_to_all is None
    assert characterization(qubits=1).is_all_to_all is True  # nothing to couple
    assert characterization(connectivity=((0, 7),), qubits=None).degrees == {0: 1, 7: 1}
    huge = characterization(connectivity=((0, 1),), qubits=10**12)  # a count gone wrong
    assert huge.degrees == {0: 1, 1: 1}
    assert huge.is_all_to_all is False


PAIRS = st.lists(st.tuples(st.integers(-1, 8), st.integers(-1, 8)), max_size=40)


@given(PAIRS, st.randoms(use_true_random=False))
def test_coupling_set_is_symmetric(pairs: list[tuple[int, int]], rng: object) -> None:
    c = characterization(connectivity=tuple(pairs), qubits=6)
    # Reversing, repeating or reordering the listed pairs changes nothing.
    flipped = [(b, a) if i % 2 else (a, b) for i, (a, b) in enumerate(pairs)]
    rng.shuffle(flipped)  # type: ignore[attr-defined]
    again = characterization(connectivity=tuple(flipped + pairs), qubits=6)
    assert again.couplings == c.couplings
    assert all(a < b for a, b in c.couplings)
    assert {tuple(sorted(p)) for p in pairs if p[0] != p[1]} == c.couplings
    directed = set(c.coupling_map)
    assert all((b, a) in directed for a, b in directed)
    assert len(directed) == 2 * len(c.couplings)
    assert sum(c.degrees.values()) == 2 * len(c.couplings)


def test_estimate_is_the_documented_product() -> None:
    c = characterization({"1q": 0.9998, "2q": 0.99, "spam": 0.995})
    estimate = estimate_success(c, one_qubit_gates=100, two_qubit_gates=50, measured_qubits=4)
    assert estimate == pytest.approx(0.9998**100 * 0.99**50 * 0.995**4)
    assert estimate_success(c, one_qubit_gates=0, two_qubit_gates=0, measured_qubits=0) == 1.0


def test_estimate_is_none_only_when_a_needed_fidelity_is_missing() -> None:
    no_2q = characterization({"1q": 0.9998, "2q": None, "spam": 0.995})
    assert estimate_success(no_2q, one_qubit_gates=3, two_qubit_gates=1, measured_qubits=1) is None
    assert estimate_success(no_2q, one_qubit_gates=3, two_qubit_gates=0,
                            measured_qubits=1) == pytest.approx(0.9998**3 * 0.995)  # fmt: skip
    nan_spam = characterization({"spam": math.nan})
    assert estimate_success(nan_spam, one_qubit_gates=0, two_qubit_gates=0,
                            measured_qubits=1) is None  # fmt: skip
    assert estimate_success(characterization(), one_qubit_gates=1, two_qubit_gates=0,
                            measured_qubits=0) is None  # fmt: skip


def test_estimate_clamps_fidelities_outside_zero_one() -> None:
    c = characterization({"1q": 1.2, "2q": -0.5, "spam": 1.0})
    assert estimate_success(c, one_qubit_gates=5, two_qubit_gates=0, measured_qubits=3) == 1.0
    assert estimate_success(c, one_qubit_gates=5, two_qubit_gates=1, measured_qubits=3) == 0.0


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        estimate_success(characterization({"1q": 0.9}), one_qubit_gates=-1, two_qubit_gates=0,
                         measured_qubits=0)  # fmt: skip


FIDELITY = st.none() | st.floats(allow_nan=True, allow_infinity=True)
COUNT = st.integers(0, 10_000)


@given(FIDELITY, FIDELITY, FIDELITY, COUNT, COUNT, COUNT)
def test_estimate_lies_in_zero_one(
    f1: float | None, f2: float | None, fs: float | None, n1: int, n2: int, m: int
) -> None:
    c = characterization({"1q": f1, "2q": f2, "spam": fs})
    estimate = estimate_success(c, one_qubit_gates=n1, two_qubit_gates=n2, measured_qubits=m)
    assert estimate is None or 0.0 <= estimate <= 1.0


PRESENT = st.floats(allow_nan=False, allow_infinity=True)  # any number, even out of [0, 1]


@given(
    PRESENT, PRESENT, PRESENT, COUNT, COUNT, COUNT,
    st.sampled_from(["one_qubit_gates", "two_qubit_gates", "measured_qubits"]),
    st.integers(1, 10_000),
)  # fmt: skip
def test_estimate_never_grows_with_a_count(
    f1: float, f2: float, fs: float, n1: int, n2: int, m: int, which: str, more: int
) -> None:
    c = characterization({"1q": f1, "2q": f2, "spam": fs})
    counts = {"one_qubit_gates": n1, "two_qubit_gates": n2, "measured_qubits": m}
    before = estimate_success(c, **counts)
    after = estimate_success(c, **{**counts, which: counts[which] + more})
    assert after is not None and before is not None
    # pow() is not correctly rounded, so two near-equal results may differ by a rounding step.
    assert after <= before + math.ulp(before)


@given(
    st.floats(0.0, 0.999_999), st.floats(0.0, 0.999_999), st.floats(0.0, 0.999_999),
    COUNT, COUNT, COUNT, st.sampled_from(["one_qubit_gates", "two_qubit_gates", "measured_qubits"]),
)  # fmt: skip
def test_estimate_falls_strictly_below_perfect_fidelity(
    f1: float, f2: float, fs: float, n1: int, n2: int, m: int, which: str
) -> None:
    c = characterization({"1q": f1, "2q": f2, "spam": fs})
    counts = {"one_qubit_gates": n1, "two_qubit_gates": n2, "measured_qubits": m}
    before = estimate_success(c, **counts)
    after = estimate_success(c, **{**counts, which: counts[which] + 1})
    assert before is not None and after is not None
    assert after < before or after < 1e-300  # or both underflowed to (near) zero


def test_raise_for_errors_names_every_failed_backend_in_one_line() -> None:
    failed = {"qpu.b": server_error(), "qpu.c": server_error()}
    snapshot = BackendsSnapshot({"qpu.a": backend("qpu.a")}, errors=failed)
    with pytest.raises(ExceptionGroup) as raised:
        snapshot.raise_for_errors()
    assert raised.value.message == "2 of 3 backends failed: qpu.b, qpu.c"
    assert len(raised.value.exceptions) == 2
