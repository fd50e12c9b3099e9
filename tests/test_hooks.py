"""The converters' leaf hooks one by one, and the nested objects they build: values in, values or
problems out.

Each problem is a (path, message) pair; these tests pin both, at the edges of every range.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from ionq_backends import FidelityStat, ResponseValidationError, Timing, make_converter
from ionq_backends._wire import hooks as parse
from ionq_backends._wire.hooks import MAX_INTEGER, Invalid

BIG = MAX_INTEGER  # 2**53: the largest count or epoch any value could be


def problems_of(leaf: Callable[[Any], Any], value: Any) -> list[tuple[str, str]]:
    with pytest.raises((Invalid, ResponseValidationError)) as info:
        leaf(value)
    return list(info.value.problems)


class characterization:
    VERSION: ClassVar[dict[str, str]] = {"mean": "v0.3", "median": "v0.4"}

    @staticmethod
    def fidelity(statistic: str, strict: bool) -> Callable[[Any], Any]:
        converter = make_converter(characterization.VERSION[statistic], strict=strict)
        return lambda value: converter.structure(value, Mapping[str, FidelityStat])

    @staticmethod
    def timing(strict: bool) -> Callable[[Any], Any]:
        converter = make_converter("v0.4", strict=strict)
        return lambda value: converter.structure(value, Timing)


def test_invalid_holds_its_problems() -> None:
    invalid = Invalid([("", "x")])
    assert invalid.problems == [("", "x")]
    assert invalid.args == ([("", "x")],)


# got(): how a value is shown in a message


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "null"),
        (True, "true"),
        ("x", '"x"'),
        ([1, 2], "[1, 2]"),
        (BIG, str(BIG)),
        (-BIG, str(-BIG)),
        (BIG + 1, "an integer of 16 digits"),
        (-BIG - 1, "an integer of 16 digits"),
        (10**4000, "an integer of 4001 digits"),
        ({1, 2}, "a set"),
        (b"x", "a bytes"),
        ("a" * 38, '"' + "a" * 38 + '"'),  # 40 characters: kept whole
        ("a" * 39, '"' + "a" * 36 + "..."),  # 41: cut to 37 and "..."
    ],
)
def test_got_shows_a_short_json_rendering(value: Any, shown: str) -> None:
    assert parse.got(value) == shown
    assert len(parse.got(value)) <= 40


# Numbers: finite, and integers within ±2**53


@pytest.mark.parametrize(
    ("value", "number"),
    [(0, 0.0), (1, 1.0), (-1.5, -1.5), (1e-05, 1e-05), (BIG, float(BIG)), (-BIG, float(-BIG))],
)
def test_number_reads_ints_and_floats_as_floats(value: Any, number: float) -> None:
    assert parse.number(value) == number
    assert type(parse.number(value)) is float


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (float("nan"), "expected finite number, got NaN"),
        (float("inf"), "expected finite number, got Infinity"),
        (BIG + 1, "expected number in range, got an integer of 16 digits"),
        (-BIG - 1, "expected number in range, got an integer of 16 digits"),
        ("1", 'expected number, got "1"'),
        (None, "expected number, got null"),
        ([1], "expected number, got [1]"),
    ],
)
def test_number_refuses_what_no_measurement_can_be(value: Any, problem: str) -> None:
    assert problems_of(parse.number, value) == [("", problem)]


@pytest.mark.parametrize(
    ("value", "integer"), [(25, 25), (25.0, 25), (BIG, BIG), (-BIG, -BIG), (float(BIG), BIG)]
)
def test_integer_reads_integral_numbers(value: Any, integer: int) -> None:
    assert parse.integer(value) == integer
    assert type(parse.integer(value)) is int


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (BIG + 1, "expected integer in range, got an integer of 16 digits"),
        (-BIG - 1, "expected integer in range, got an integer of 16 digits"),
        (float(BIG) * 2, "expected integer, got 1.8014398509481984e+16"),
        (2.5, "expected integer, got 2.5"),
        (float("nan"), "expected integer, got NaN"),
        ("25", 'expected integer, got "25"'),
    ],
)
def test_integer_refuses_fractions_strings_and_the_out_of_range(value: Any, problem: str) -> None:
    assert problems_of(parse.integer, value) == [("", problem)]


def test_boolean_and_string_take_only_their_own_type() -> None:
    assert parse.boolean(False) is False
    assert problems_of(parse.boolean, 0) == [("", "expected boolean, got 0")]
    assert problems_of(parse.boolean, "true") == [("", 'expected boolean, got "true"')]
    assert parse.string("") == ""
    assert problems_of(parse.string, 5) == [("", "expected string, got 5")]


def test_strings_are_an_array_of_strings() -> None:
    assert parse.strings(["x", "rz"]) == ("x", "rz")
    assert parse.strings([]) == ()
    assert problems_of(parse.strings, "x") == [("", 'expected array of strings, got "x"')]
    assert problems_of(parse.strings, ["x", 1, None]) == [
        ("[1]", "expected string, got 1"),
        ("[2]", "expected string, got null"),
    ]


# Datetimes: epoch seconds or milliseconds, ISO-8601, or either


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        (1750032000, datetime(2025, 6, 16, tzinfo=UTC)),
        (1750032000.5, datetime(2025, 6, 16, 0, 0, 0, 500000, tzinfo=UTC)),
        (1750032000123, datetime(2025, 6, 16, 0, 0, 0, 123000, tzinfo=UTC)),
        (1750032000123.0, datetime(2025, 6, 16, 0, 0, 0, 123000, tzinfo=UTC)),
        # 1e11 is where milliseconds begin: 1973-03-03 as milliseconds, the year 5138 as seconds.
        (100_000_000_000, datetime(1973, 3, 3, 9, 46, 40, tzinfo=UTC)),
        (99_999_999_999, datetime(5138, 11, 16, 9, 46, 39, tzinfo=UTC)),
        (-86400, datetime(1969, 12, 31, tzinfo=UTC)),
    ],
)
def test_epoch_reads_seconds_or_milliseconds_by_magnitude(value: Any, moment: datetime) -> None:
    assert parse.epoch(value) == moment
    assert parse.epoch(value).tzinfo is UTC


@pytest.mark.parametrize(
    "value", ["1750032000", None, [1], float("nan"), float("inf"), 1e300, BIG + 1, BIG]
)
def test_epoch_refuses_what_is_no_time(value: Any) -> None:
    (problem,) = problems_of(parse.epoch, value)
    assert problem == ("", f"expected epoch seconds or milliseconds, got {parse.got(value)}")


def test_when_reads_either_encoding() -> None:
    midnight = datetime(2025, 6, 16, tzinfo=UTC)
    assert parse.when("2025-06-16T00:00:00Z") == parse.when(1750032000) == midnight
    assert parse.when(1750032000.0) == midnight
    assert problems_of(parse.when, "June") == [("", 'expected ISO-8601 datetime, got "June"')]
    assert problems_of(parse.when, None) == [
        ("", "expected ISO-8601 datetime or epoch number, got null")
    ]


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "2025-13-01", "", 17])
def test_iso_refuses_what_is_no_utc_datetime(value: Any) -> None:
    (problem,) = problems_of(parse.iso, value)
    assert problem == ("", f"expected ISO-8601 datetime, got {parse.got(value)}")


# Characterization links


@pytest.mark.parametrize("value", ["617a1f8b", "a.b", "..."])
def test_a_link_id_is_any_non_dot_segment(value: str) -> None:
    assert parse.link_id(value) == value


@pytest.mark.parametrize("value", ["", ".", "..", 5, None, ["x"]])
def test_a_link_id_that_would_move_the_path_is_refused(value: Any) -> None:
    assert problems_of(parse.link_id, value) == [
        ("", f"expected characterization id, got {parse.got(value)}")
    ]


@pytest.mark.parametrize(
    ("url", "found"),
    [
        ("/characterizations/abc", "abc"),
        ("/characterizations/abc/", "abc"),
        ("/characterizations/abc//", "abc"),
        ("https://api.ionq.co/v0.3/characterizations/abc", "abc"),
        ("abc", "abc"),
        ("/characterizations/ID-X/", "ID-X"),  # only slashes are stripped
    ],
)
def test_a_characterization_url_gives_its_last_segment(url: str, found: str) -> None:
    assert parse.id_from_url(url) == found


@pytest.mark.parametrize(
    "value", ["", "/", "/characterizations/.", "/characterizations/..", "/characterizations/../", 5]
)
def test_a_characterization_url_without_an_id_is_refused(value: Any) -> None:
    assert problems_of(parse.id_from_url, value) == [
        ("", f"expected characterization URL, got {parse.got(value)}")
    ]


def test_pairs_are_two_integer_qubit_indices() -> None:
    assert parse.pairs([[0, 1], [10, 9]]) == ((0, 1), (10, 9))
    assert problems_of(parse.pairs, {"0": 1}) == [
        ("", 'expected array of qubit pairs, got {"0": 1}')
    ]
    assert problems_of(parse.pairs, [[0, 1], [1.5, 2], [2, 1.5], [1, 2, 3], [True, 1], "01"]) == [
        ("[1]", "expected pair of qubit indices, got [1.5, 2]"),
        ("[2]", "expected pair of qubit indices, got [2, 1.5]"),
        ("[3]", "expected pair of qubit indices, got [1, 2, 3]"),
        ("[4]", "expected pair of qubit indices, got [true, 1]"),
        ("[5]", 'expected pair of qubit indices, got "01"'),
    ]


# Fidelity: the version's statistic, or the other one when it is alone


@pytest.mark.parametrize(
    ("statistic", "stat", "expected"),
    [
        ("median", {"median": 0.9, "stderr": 0.01}, FidelityStat(0.9, 0.01, "median")),
        ("median", {"median": 0.9, "mean": 0.8}, FidelityStat(0.9, None, "median", {"mean": 0.8})),
        ("median", {"mean": 0.8, "stderr": None}, FidelityStat(0.8, None, "mean")),
        ("median", {"stderr": 0.01}, FidelityStat(None, 0.01, "median")),
        ("mean", {"mean": 0.8, "stderr": 0.02}, FidelityStat(0.8, 0.02, "mean")),
        ("mean", {"median": 0.9, "mean": 0.8}, FidelityStat(0.8, None, "mean", {"median": 0.9})),
        ("mean", {"median": 0.9}, FidelityStat(0.9, None, "median")),
        ("mean", {}, FidelityStat(None, None, "mean")),
    ],
)
def test_a_fidelity_stat_reads_its_statistic_or_the_other_and_keeps_both(
    statistic: str, stat: dict[str, Any], expected: FidelityStat
) -> None:
    for strict in (False, True):
        assert characterization.fidelity(statistic, strict)({"1q": stat}) == {"1q": expected}


def test_fidelity_keeps_every_key_and_skips_null_stats() -> None:
    parse_fidelity = characterization.fidelity("median", False)
    read = parse_fidelity({"1q": {"median": 0.99}, "3q": {"median": 0.9}, "spam": None})
    assert read == {
        "1q": FidelityStat(0.99, None, "median"),
        "3q": FidelityStat(0.9, None, "median"),
    }


@pytest.mark.parametrize("statistic", ["median", "mean"])
def test_fidelity_problems_name_their_key(statistic: str) -> None:
    """A stat that is not an object, values that are not numbers, and (strict) unknown keys."""
    value = {"1q": 0.99, "2q": {statistic: "high", "stderr": True}, "spam": [1]}
    assert problems_of(characterization.fidelity(statistic, True), value) == [
        ('["1q"]', "expected object, got 0.99"),
        (f'["2q"].{statistic}', 'expected number, got "high"'),
        ('["2q"].stderr', "expected number, got true"),
        (".spam", "expected object, got [1]"),
    ]
    # Lenient: a bad number costs only itself (kept in extra); a stat that is no object fails.
    assert problems_of(characterization.fidelity(statistic, False), value) == [
        ('["1q"]', "expected object, got 0.99"),
        (".spam", "expected object, got [1]"),
    ]
    read = characterization.fidelity(statistic, False)({"2q": value["2q"]})["2q"]
    assert read == FidelityStat(None, None, statistic, {statistic: "high", "stderr": True})
    assert problems_of(characterization.fidelity(statistic, False), [1]) == [
        ("", "expected object, got [1]")
    ]
    both = {"1q": {"median": 0.9, "mean": 0.8, "stderr": 0.1, "p90": 0.95}}
    assert problems_of(characterization.fidelity(statistic, True), both) == [
        ('["1q"].p90', "unknown field")
    ]
    assert characterization.fidelity(statistic, False)(both)["1q"].statistic == statistic


# Timing


def test_timing_reads_its_keys_and_keeps_the_rest_unless_strict() -> None:
    read = characterization.timing(False)({"zz": 1, "t1": 100, "2q": 0.00013, "readout": None})
    assert read == Timing(t1=100.0, two_qubit=0.00013, extra={"zz": 1})
    assert problems_of(characterization.timing(True), {"zz": 1, "t1": "x"}) == [
        (".t1", 'expected number, got "x"'),  # the fields' problems, then the unknown keys
        (".zz", "unknown field"),
    ]
    assert characterization.timing(False)(None) == Timing()  # null where an object is promised
    assert problems_of(characterization.timing(False), 5) == [("", "expected object, got 5")]


def test_iso_stamps_read_before_are_kept_bounded_and_problems_never() -> None:
    parse._ISO_READ.clear()
    first = parse.when("2026-11-21T22:47:18Z")
    assert parse.when("2026-11-21T22:47:18Z") is first  # read once, kept
    assert first == datetime(2026, 11, 21, 22, 47, 18, tzinfo=UTC)
    with pytest.raises(Invalid):
        parse.when("yesterday")
    with pytest.raises(Invalid):
        parse.when("yesterday")  # refused again, never kept
    assert "yesterday" not in parse._ISO_READ
    sizes = set()
    for second in range(parse._ISO_READ_MAX + 10):
        parse.when(f"2026-11-21T22:{second // 60 % 60:02d}:{second % 60:02d}+0{second // 3600}:00")
        sizes.add(len(parse._ISO_READ))
    assert max(sizes) == parse._ISO_READ_MAX  # full, never past it
    assert 0 < len(parse._ISO_READ) < parse._ISO_READ_MAX  # emptied once full, then refilled
    with pytest.raises(Invalid):
        parse.when([2025])  # unhashable: refused as before, not a TypeError


def test_a_lenient_fidelity_stat_keeps_an_unknown_key_in_extra() -> None:
    read = characterization.fidelity("median", False)({"1q": {"median": 0.9, "p90": 0.95}})
    assert read["1q"].extra == {"p90": 0.95}


# Null: `None` for an `X | None` field (cattrs passes that type), a problem for a plain `X`


@pytest.mark.parametrize(
    ("leaf", "optional", "wrong"),
    [(parse.number, float | None, "1"), (parse.integer, int | None, "1"),
     (parse.boolean, bool | None, "yes"), (parse.string, str | None, 5),
     (parse.strings, tuple[str, ...] | None, "x"), (parse.when, datetime | None, [1]),
     (parse.link_id, str | None, ".."), (parse.id_from_url, str | None, "/")],
)  # fmt: skip
def test_null_is_none_only_where_the_type_allows_it(
    leaf: Callable[..., Any], optional: Any, wrong: Any
) -> None:
    assert leaf(None, optional) is None
    with pytest.raises(Invalid) as info:
        leaf(None)
    assert info.value.problems[0][1].endswith("got null")
    with pytest.raises(Invalid):
        leaf(wrong, optional)  # a wrong value is no null, whatever the type allows
