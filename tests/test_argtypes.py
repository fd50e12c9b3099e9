"""The command line's argument types and shared options, in-process: each bound at, under and
over its value, each refusal's message (what was typed and what was expected), each default
shown once in help, and every contradiction between options."""

from __future__ import annotations

import argparse
import re

import pytest

from ionq_backends import _argtypes as types
from ionq_backends._constants import DEFAULT_API_VERSION, DEFAULT_SCENARIO_SPEED, DEFAULT_TIMEOUT


@pytest.mark.parametrize(
    ("parse", "text", "value"),
    [(types.positive, "1e-9", 1e-9), (types.positive, "2.5", 2.5),
     (types.non_negative, "0", 0.0), (types.non_negative, "1e-9", 1e-9)],
)  # fmt: skip
def test_numbers_at_and_over_their_bound_are_read_as_floats(parse, text, value) -> None:  # type: ignore[no-untyped-def]
    assert parse(text) == value and type(parse(text)) is float


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [(types.positive, "0", "expected a finite number > 0, got '0'"),
     (types.positive, "-1e-9", "expected a finite number > 0, got '-1e-9'"),
     (types.positive, "nan", "expected a finite number > 0, got 'nan'"),
     (types.positive, "inf", "expected a finite number > 0, got 'inf'"),
     (types.non_negative, "-1e-9", "expected a finite number >= 0, got '-1e-9'"),
     (types.non_negative, "x\x1b", "expected a finite number >= 0, got 'x\\\\x1b'")],
)  # fmt: skip
def test_numbers_under_their_bound_name_what_was_typed(parse, text, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        parse(text)
    assert str(raised.value) == message


def test_a_word_that_is_no_number_is_named_like_a_number_out_of_range() -> None:
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        types.positive("soon")
    assert str(raised.value) == "expected a finite number > 0, got 'soon'"


@pytest.mark.parametrize(
    ("text", "ok"), [("-1", False), ("0", True), ("1", True), ("65535", True), ("65536", False)]
)
def test_a_port_holds_both_bounds_exactly(text: str, ok: bool) -> None:
    if ok:
        assert types.port(text) == int(text)
    else:
        with pytest.raises(argparse.ArgumentTypeError) as raised:
            types.port(text)
        assert str(raised.value) == f"expected an integer 0 to 65535, got {text!r}"


def test_an_integer_without_a_high_bound_names_its_low_one() -> None:
    at_least_two = types.integer(2)
    assert at_least_two("2") == 2 and at_least_two("10") == 10
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        at_least_two("1")
    assert str(raised.value) == "expected an integer >= 2, got '1'"


def test_a_backend_name_is_one_a_path_can_carry() -> None:
    # Any other text is sent percent-encoded: `a/b` asks for the backend named `a/b`.
    assert types.backend_name("qpu.forte-1") == "qpu.forte-1" and types.backend_name("a/b") == "a/b"
    for bad in ("", ".", ".."):
        with pytest.raises(argparse.ArgumentTypeError) as raised:
            types.backend_name(bad)
        assert str(raised.value).startswith("expected a backend name, got ")


def _parser(**kwargs: object) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="t", formatter_class=types.HelpFormatter)
    types.add_api_options(parser, timeout_help="bounds it all")
    types.add_scenario_options(parser)
    for name, default in kwargs.items():
        said = " (default: x)" if name == "named" else ""
        parser.add_argument(f"--{name}", default=default, help=f"the {name}{said}")
    return parser


def test_the_shared_options_and_their_defaults() -> None:
    args = _parser().parse_args([])
    assert args.api_version == DEFAULT_API_VERSION
    assert args.timeout == DEFAULT_TIMEOUT and args.speed == DEFAULT_SCENARIO_SPEED
    assert args.base_url is None and args.emulator is False and args.scenario is None
    args = _parser().parse_args(["--api-version", "v0.3", "--emulator", "--scenario", "day",
                                 "--speed", "60", "--timeout", "2"])  # fmt: skip
    assert (args.api_version, args.emulator, args.scenario, args.speed, args.timeout) == (
        "v0.3", True, "day", 60.0, 2.0)  # fmt: skip


def test_help_shows_each_default_once_and_none_where_it_says_nothing() -> None:
    text = " ".join(_parser(team="qc", named="x", empty=None).format_help().split())
    assert f"bounds it all (default: {DEFAULT_TIMEOUT:g})" in text.replace(".0)", ")")
    assert "the team (default: qc)" in text
    assert text.count("default: x") == 1  # the help already names it
    assert "the empty (default" not in text  # None says nothing
    assert "in-process IonQ API emulator (default" not in text  # a flag's False neither
    assert f"(default: {DEFAULT_API_VERSION})" in text


def _namespace(**values: object) -> argparse.Namespace:
    base: dict[str, object] = {"emulator": False, "base_url": None, "api_version": "v0.4"}
    return argparse.Namespace(**{**base, **values})


@pytest.mark.parametrize(
    ("values", "message"),
    [({"emulator": True, "base_url": "http://x"},
      "--base-url and --emulator contradict each other: give one"),
     ({"scenario": "day"}, "--scenario plays on the emulator: add --emulator"),
     ({"verbose_status": True},
      "--verbose-status does not exist in API v0.4: add --api-version v0.3"),
     ({"command": "emulator", "host": "0.0.0.0"},
      "--host 0.0.0.0: the emulator listens on loopback addresses only")],
)  # fmt: skip
def test_options_that_contradict_each_other_are_named(
    values: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        types.check_api_options(_namespace(**values))


@pytest.mark.parametrize(
    "values",
    [{}, {"emulator": True}, {"base_url": "http://x"}, {"emulator": True, "scenario": "day"},
     {"verbose_status": True, "api_version": "v0.3"}, {"command": "emulator", "host": "::1"},
     {"command": "emulator", "host": "127.0.0.1"}, {"command": "serve", "host": "0.0.0.0"},
     {"command": "emulator", "host": None}],
)  # fmt: skip
def test_options_that_agree_pass(values: dict[str, object]) -> None:
    types.check_api_options(_namespace(**values))


def test_a_namespace_without_the_emulator_option_passes_a_scenario() -> None:
    # `serve` has no --emulator flag of its own in some parsers: no contradiction to name.
    types.check_api_options(argparse.Namespace(base_url=None, scenario="day", api_version="v0.4"))


SHARED_HELP = """\
--api-version {v0.3,v0.4} IonQ API version (default: v0.4) \
--base-url BASE_URL API host (default: $IONQ_BASE_URL, else IonQ's) \
--emulator run against an in-process IonQ API emulator \
--timeout SECONDS bounds it all (default: 30.0) \
--scenario {day} the emulator plays it: queues that swing, calibrations, an outage and its \
recovery, a degraded spell, a retired QPU \
--speed FACTOR scenario seconds per real second (default: 144.0)"""


def test_the_shared_options_help_reads_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    text = " ".join(_parser().format_help().split())
    assert text.endswith(SHARED_HELP)


@pytest.mark.parametrize(
    "argv", [["--api-version", "v9"], ["--scenario", "night"], ["--speed", "0"]]
)
def test_a_choice_or_value_outside_the_options_is_a_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        _parser().parse_args(argv)
    assert raised.value.code == 2
    assert argv[0] in capsys.readouterr().err


def test_an_integer_with_both_bounds_holds_each_and_names_them() -> None:
    one_to_three = types.integer(1, 3)
    assert [one_to_three(t) for t in ("1", "3")] == [1, 3]
    for text in ("0", "4"):
        with pytest.raises(argparse.ArgumentTypeError) as raised:
            one_to_three(text)
        assert str(raised.value) == f"expected an integer 1 to 3, got {text!r}"


def test_a_parser_without_emulator_takes_a_base_url() -> None:
    types.check_api_options(argparse.Namespace(base_url="http://x", api_version="v0.4"))
