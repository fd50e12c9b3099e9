"""Calibration views on Characterization: pure, no sockets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ionq_backends import (
    Characterization,
    ErrorRate,
    FidelityStat,
    make_converter,
)
from ionq_backends.emulator._fleet import default_fleet, render_characterization

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def characterization(
    fidelity: dict[str, float | None] | None = None,
    *,
    connectivity: tuple[tuple[int, int], ...] = (),
    qubits: int | None = 4,
    date: datetime | None = NOW - timedelta(hours=5),
) -> Characterization:
    stats = {
        key: FidelityStat(value, 0.001 if key == "2q" else None, "median")
        for key, value in (fidelity or {}).items()
    }
    return Characterization("c-1", "qpu.x", date, "v0.4", qubits, connectivity, stats)


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
        c = make_converter(version).structure(render_characterization(item, version),
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
