"""The retry policy as pure functions: no I/O, no clock, no randomness of its own."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import attrs

from ._constants import (
    BACKOFF_INITIAL,
    BACKOFF_JITTER,
    BACKOFF_MAX,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_AFTER_CAP,
    RETRY_STATUSES,
)

__all__ = ["Retry", "RetryPolicy", "jittered", "parse_retry_after"]


@attrs.frozen
class RetryPolicy:
    """When and how long to wait before retrying a GET.

    `max_retries` counts retries after the first attempt. Backoff starts at `backoff_initial`,
    doubles, is capped at `backoff_max`, and is scaled by a random factor in `1 ± jitter`. A
    `Retry-After` (or `retry-after-ms`) up to `retry_after_cap` seconds replaces the backoff; past
    the cap the error is raised at once.
    """

    max_retries: int = attrs.field(default=DEFAULT_MAX_RETRIES, validator=attrs.validators.ge(0))
    backoff_initial: float = BACKOFF_INITIAL
    backoff_max: float = BACKOFF_MAX
    jitter: float = attrs.field(
        default=BACKOFF_JITTER,
        validator=[attrs.validators.ge(0.0), attrs.validators.le(1.0)],
    )
    retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP
    statuses: frozenset[int] = RETRY_STATUSES

    def backoff(self, retry: int, random: Callable[[], float]) -> float:
        """Seconds to wait before retry number `retry` (0 for the first), with jitter."""
        base = min(self.backoff_max, self.backoff_initial * 2.0**retry)
        return min(self.backoff_max, jittered(base, self.jitter, random))

    def decide(
        self,
        retry: int,
        *,
        status: int | None,
        retry_after: float | None,
        random: Callable[[], float],
    ) -> Retry:
        """Decide what follows a failed attempt.

        `retry` is how many retries were already made; `status` is `None` for a connection error or
        timeout (always retryable for a GET).
        """
        if status is not None and status not in self.statuses:
            return Retry(False)
        if retry_after is not None and retry_after > self.retry_after_cap:
            return Retry(False, retry_after=retry_after)
        if retry >= self.max_retries:
            return Retry(False, retry_after=retry_after)
        if retry_after is not None:
            return Retry(True, delay=retry_after, retry_after=retry_after)
        return Retry(True, delay=self.backoff(retry, random))


def jittered(value: float, jitter: float, random: Callable[[], float]) -> float:
    """`value` scaled by a factor drawn from `[1 - jitter, 1 + jitter]`."""
    return value * (1.0 + jitter * (2.0 * random() - 1.0))


@attrs.frozen
class Retry:
    """Retry after `delay` seconds, or raise (with `retry_after` if the API gave one)."""

    retry: bool
    delay: float = 0.0
    retry_after: float | None = None


def parse_retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Read `retry-after-ms` or `Retry-After` (seconds or HTTP-date) as seconds to wait.

    Returns `None` when neither is present or readable; a date in the past means 0.
    """
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            value = float(millis)
        except ValueError:
            value = -1.0
        if value >= 0.0 and value == value:  # not NaN; inf stays inf, past any cap
            return value / 1000.0
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    if raw.isascii() and raw.isdigit():  # delay-seconds is 1*DIGIT: "-5", "1.5" and "²" are not
        return float(raw)
    try:
        when = parsedate_to_datetime(raw)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
