"""A caller's parameters, checked before any request: each bound at, just under and just over
its value, each wrong type, and the message that names the parameter."""

from __future__ import annotations

import math
from typing import Any

import pytest

from ionq_backends._params import (
    SealedKey,
    api_key,
    backend_names,
    finite,
    headers,
    integer,
    max_age,
    retry_policy,
)
from ionq_backends._retry import RetryPolicy


@pytest.mark.parametrize(
    ("value", "inclusive", "ok"),
    [(-1e-9, True, False), (0.0, True, True), (1e-9, True, True),
     (-1e-9, False, False), (0.0, False, False), (1e-9, False, True)],
)  # fmt: skip
def test_finite_holds_its_low_bound_exactly(value: float, inclusive: bool, ok: bool) -> None:
    if ok:
        assert finite("timeout", value, inclusive=inclusive) == value
    else:
        with pytest.raises(ValueError, match=r"timeout must be a finite number (>=|>) 0"):
            finite("timeout", value, inclusive=inclusive)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_finite_refuses_what_is_not_finite(value: float) -> None:
    with pytest.raises(ValueError, match="latency must be a finite number"):
        finite("latency", value, inclusive=True)


@pytest.mark.parametrize("value", [True, False, "1", None, [1]])
def test_finite_refuses_what_is_not_a_number_bools_included(value: Any) -> None:
    with pytest.raises(TypeError, match=f"speed must be a number, got {type(value).__name__}"):
        finite("speed", value)


def test_finite_returns_a_float_and_respects_another_low() -> None:
    assert type(finite("x", 3)) is float
    assert finite("x", 2.5, low=2.0) == 2.5
    with pytest.raises(ValueError, match="> 2"):
        finite("x", 2, low=2.0)


@pytest.mark.parametrize(
    ("value", "ok"), [(-1, False), (0, True), (1, True), (10, True), (11, False)]
)
def test_integer_holds_both_bounds_exactly(value: int, ok: bool) -> None:
    if ok:
        assert integer("page_size", value, low=0, high=10) == value
    else:
        with pytest.raises(ValueError, match=r"page_size must be in \[0, 10\], got"):
            integer("page_size", value, low=0, high=10)


def test_integer_without_a_high_bound_and_its_types() -> None:
    assert integer("n", 10**9, low=1) == 10**9
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        integer("n", 0, low=1)
    for wrong in (True, 1.0, "1"):
        with pytest.raises(TypeError, match="n must be an int"):
            integer("n", wrong, low=1)


def test_max_age_is_none_or_seconds_from_zero() -> None:
    assert max_age(None) is None
    assert max_age(0) == 0.0
    with pytest.raises(ValueError, match="max_age"):
        max_age(-0.001)


@pytest.mark.parametrize(
    ("key", "index"), [("a b", 1), ("ab\n", 2), ("\x00", 0), ("é", 0), ("k\x7f", 1)]
)
def test_a_key_is_printable_ascii_and_the_message_never_repeats_it(key: str, index: int) -> None:
    with pytest.raises(ValueError, match=f"at index {index} ") as raised:
        api_key(SealedKey(key))
    assert key not in str(raised.value)


def test_a_key_at_the_edges_of_printable_ascii_is_kept_and_none_is_none() -> None:
    assert api_key(SealedKey("!~")) == "!~"  # 0x21 and 0x7e, the first and last allowed
    assert api_key(SealedKey(None)) is None and api_key(SealedKey("")) is None
    with pytest.raises(TypeError, match="api_key must be a str"):
        api_key(SealedKey(b"key"))
    assert "REDACTED" in repr(SealedKey("secret")) and "secret" not in repr(SealedKey("secret"))


def test_headers_refuse_authorization_and_what_could_split_a_header() -> None:
    assert headers({"X-Team": "qc"}, "svc/1", "ionq-backends/0.1") == {
        "X-Team": "qc", "User-Agent": "ionq-backends/0.1 svc/1"}  # fmt: skip
    assert headers(None, None, "ua") == {}
    for bad, error in [({"authorization": "x"}, ValueError), ({"X": "a\r\nb"}, ValueError),
                       ({"X": ""}, ValueError), ({"X": 1}, TypeError)]:  # fmt: skip
        with pytest.raises(error):
            headers(bad, None, "ua")
    with pytest.raises(ValueError, match="user_agent"):
        headers(None, "a\tb", "ua")
    assert headers({"X": " ~"}, None, "ua") == {"X": " ~"}  # space and tilde: the printable edges


def test_backend_names_keep_order_once_each_and_refuse_one_string() -> None:
    assert backend_names(["b", "a", "b"]) == ["b", "a"]
    with pytest.raises(TypeError, match="not one string"):
        backend_names("qpu.aria-1")
    with pytest.raises(TypeError, match="a backend name must be a str, got NoneType"):
        backend_names([None])  # type: ignore[list-item]


def test_retry_policy_changes_only_what_is_given() -> None:
    base = RetryPolicy()
    assert retry_policy(base) == base
    assert retry_policy(base, max_retries=0).max_retries == 0
    assert retry_policy(base, retry_after_cap=0).retry_after_cap == 0.0
    assert retry_policy(base, max_retries=5).retry_after_cap == base.retry_after_cap
    with pytest.raises(ValueError, match="max_retries"):
        retry_policy(base, max_retries=-1)


# Each refusal's whole message: what a caller reads is the contract, not only its type.
REFUSALS: list[tuple[Any, type[Exception], str]] = [
    (lambda: finite("t", 1, low=2.0, inclusive=True), ValueError,
     "t must be a finite number >= 2, got 1"),
    (lambda: finite("t", 2, low=2.0), ValueError, "t must be a finite number > 2, got 2"),
    (lambda: max_age(-1), ValueError, "max_age must be a finite number >= 0, got -1"),
    (lambda: integer("n", 1.5, low=0), TypeError, "n must be an int, got float"),
    (lambda: api_key(SealedKey(b"k")), TypeError, "api_key must be a str, got bytes"),
    (lambda: api_key(SealedKey("a b")), ValueError,
     "api_key has a character that cannot be sent in a header at index 1 (U+0020); "
     "expected printable ASCII"),
    (lambda: headers({"X": 1}, None, "ua"), TypeError, "default_headers must map str to str"),
    (lambda: headers({1: "x"}, None, "ua"), TypeError, "default_headers must map str to str"),
    (lambda: headers({"Authorization": "x"}, None, "ua"), ValueError,
     "default_headers must not set Authorization: pass api_key"),
    (lambda: headers({"X\n": "x"}, None, "ua"), ValueError,
     "header name 'X\\n' must be non-empty printable ASCII"),
    (lambda: headers({"X": "a\tb"}, None, "ua"), ValueError,
     "header 'X' must be non-empty printable ASCII"),
    (lambda: headers(None, 7, "ua"), TypeError, "user_agent must be a str, got int"),
    (lambda: headers(None, "", "ua"), ValueError, "user_agent must be non-empty printable ASCII"),
    (lambda: backend_names("qpu"), TypeError, "names must be an iterable of names, not one string"),
    (lambda: backend_names([3]), TypeError, "a backend name must be a str, got int"),
    (lambda: retry_policy(RetryPolicy(), max_retries=-1), ValueError,
     "max_retries must be >= 0, got -1"),
    (lambda: retry_policy(RetryPolicy(), retry_after_cap=-1.0), ValueError,
     "retry_after_cap must be a finite number >= 0, got -1.0"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "kind", "message"), REFUSALS)
def test_each_refusal_says_what_was_wrong_in_full(
    call: Any, kind: type[Exception], message: str
) -> None:
    with pytest.raises(kind) as raised:
        call()
    assert str(raised.value) == message


def test_a_sealed_key_reads_as_sealed_and_redacted() -> None:
    assert repr(SealedKey("k-123")) == "SealedKey([REDACTED])"
