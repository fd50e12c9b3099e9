"""The retry policy, pure: no sockets, no clock, no randomness of its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from multidict import CIMultiDict

from ionq_backends._retry import Retry, RetryPolicy, parse_retry_after

NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)


def http_date(offset: float) -> str:
    return format_datetime(NOW + timedelta(seconds=offset), usegmt=True)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1", 1.0),
        ("0", 0.0),
        ("-5", None),  # delay-seconds is digits only
        ("60", 60.0),
        ("61", 61.0),
        ("1.5", None),
        (http_date(30), 30.0),
        (http_date(-30), 0.0),  # a past date means now
        ("Wed, 99 Foo 2026 99:99:99 GMT", None),
        ("soon", None),
        ("", None),
    ],
)
def test_parse_retry_after(value: str, seconds: float | None) -> None:
    assert parse_retry_after(CIMultiDict({"Retry-After": value}), NOW) == seconds


@pytest.mark.parametrize(
    ("value", "seconds"), [("1500", 1.5), ("0", 0.0), ("-1", None), ("x", None), ("nan", None)]
)
def test_parse_retry_after_ms(value: str, seconds: float | None) -> None:
    assert parse_retry_after(CIMultiDict({"retry-after-ms": value}), NOW) == seconds


def test_retry_after_ms_wins_over_retry_after() -> None:
    headers = CIMultiDict({"retry-after-ms": "250", "Retry-After": "9"})
    assert parse_retry_after(headers, NOW) == 0.25


def test_no_header_is_none() -> None:
    assert parse_retry_after(CIMultiDict(), NOW) is None


def half() -> float:
    return 0.5


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 520, 524, 529, None])
def test_retryable(status: int | None) -> None:
    decision = RetryPolicy().decide(0, status=status, retry_after=None, random=half)
    assert decision.retry
    assert decision.delay == 0.5


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 410, 422, 501, 505, 530])
def test_not_retryable(status: int) -> None:
    assert not RetryPolicy().decide(0, status=status, retry_after=None, random=half).retry


def test_backoff_doubles_and_caps_without_jitter() -> None:
    policy = RetryPolicy(max_retries=10, jitter=0.0)
    delays = [policy.decide(n, status=503, retry_after=None, random=half).delay for n in range(7)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


@pytest.mark.parametrize(("draw", "factor"), [(0.0, 0.75), (0.5, 1.0), (1.0, 1.25)])
def test_jitter_scales_within_bounds(draw: float, factor: float) -> None:
    delay = RetryPolicy().backoff(1, lambda: draw)
    assert delay == pytest.approx(1.0 * factor)
    assert RetryPolicy().backoff(10, lambda: draw) <= 8.0


def test_at_most_max_retries() -> None:
    policy = RetryPolicy(max_retries=2)
    outcomes = [policy.decide(n, status=503, retry_after=None, random=half).retry for n in range(4)]
    assert outcomes == [True, True, False, False]
    assert not RetryPolicy(max_retries=0).decide(0, status=503, retry_after=None, random=half).retry


@pytest.mark.parametrize(
    ("retry_after", "retry", "delay"),
    [(0.0, True, 0.0), (1.0, True, 1.0), (60.0, True, 60.0), (61.0, False, 0.0)],
)
def test_retry_after_replaces_backoff_up_to_the_cap(
    retry_after: float, retry: bool, delay: float
) -> None:
    decision = RetryPolicy().decide(0, status=429, retry_after=retry_after, random=half)
    assert (decision.retry, decision.delay, decision.retry_after) == (retry, delay, retry_after)


def test_cap_is_configurable() -> None:
    policy = RetryPolicy(retry_after_cap=120.0)
    assert policy.decide(0, status=503, retry_after=90.0, random=half).retry


def test_invalid_policy_values() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=1.5)


# What each decision says, whole (mutation testing: the fields the transport reads).


def test_a_decision_says_whether_when_and_what_the_api_asked() -> None:
    policy = RetryPolicy(max_retries=1)
    draw = lambda: 0.5  # noqa: E731 - no jitter
    assert policy.decide(0, status=404, retry_after=None, random=draw) == Retry(False)
    assert policy.decide(0, status=404, retry_after=None, random=draw).retry is False
    assert policy.decide(0, status=503, retry_after=None, random=draw) == Retry(True, delay=0.5)
    assert policy.decide(0, status=429, retry_after=5.0, random=draw) == Retry(
        True, delay=5.0, retry_after=5.0
    )
    # Out of retries, or past the cap: no retry, and what the API asked for is kept.
    assert policy.decide(1, status=429, retry_after=5.0, random=draw) == Retry(
        False, retry_after=5.0
    )
    assert policy.decide(0, status=429, retry_after=61.0, random=draw) == Retry(
        False, retry_after=61.0
    )
    assert policy.decide(1, status=None, retry_after=None, random=draw) == Retry(False)


def test_retry_after_headers_are_read_from_any_mapping() -> None:
    """The lower-case names HTTP/2 sends, in a plain dict as well as aiohttp's CIMultiDict."""
    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after(CIMultiDict({"Retry-After": "7"})) == 7.0


def test_an_http_date_in_minus_0000_is_utc() -> None:
    """RFC 5322's `-0000` parses to a naive datetime: it is read as UTC, not refused."""
    when = (NOW + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S -0000")
    assert parse_retry_after({"retry-after": when}, now=NOW) == 30.0


def test_an_http_date_is_measured_from_now_by_default() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    seconds = parse_retry_after({"retry-after": when})
    assert seconds is not None and 25.0 < seconds <= 30.0
