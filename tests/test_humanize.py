"""Durations, ages and server-sent text made safe for people: each unit at its edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ionq_backends._humanize import encodable, format_age, format_duration, printable

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59, "59s"), (60, "1m 0s"), (3599, "59m 59s"), (3600, "1h 0m"),
     (86399, "23h 59m"), (86400, "1d 0h"), (90061, "1d 1h"), (59.9, "59s")],
)  # fmt: skip
def test_format_duration_at_each_unit_edge(seconds: float, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s ago"), (59, "59 s ago"), (60, "1 min ago"), (3599, "59 min ago"),
     (3600, "1 h ago"), (86399, "23 h ago"), (86400, "1 d ago"), (-30, "in 30 s"),
     (-3600, "in 1 h")],
)  # fmt: skip
def test_format_age_at_each_unit_edge_past_and_ahead(seconds: float, text: str) -> None:
    assert format_age(NOW - timedelta(seconds=seconds), NOW) == text


def test_unknown_is_a_dash() -> None:
    assert format_duration(None) == "-" and format_age(None, NOW) == "-"


@pytest.mark.parametrize(
    ("text", "shown"),
    [("plain", "plain"), ("\x1b[2J", "\\x1b[2J"), ("a\nb", "a\\x0ab"), ("\x7f", "\\x7f"),
     ("\x9b", "\\x9b"), ("\xa0é", "\xa0é"), ("\x1f \x20", "\\x1f  "), ("\ud800", "\\ud800")],
)  # fmt: skip
def test_printable_escapes_controls_and_lone_surrogates_only(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_encodable_escapes_only_lone_surrogates() -> None:
    assert encodable("a\nb é") == "a\nb é"
    assert encodable("x\udfffy") == "x\\udfffy"
    assert encodable("\ud7ff") == "\ud7ff"  # the last code point before the surrogates
    encodable("\ud800\udc00").encode()  # a pair as two lone ones: both escaped, so it encodes
