"""Durations and instants as people and URLs write them (pure): `30d`, `12h`, ISO-8601."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

__all__ = ["parse_duration", "parse_instant", "parse_interval"]

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")


def parse_duration(text: str) -> float:
    """Seconds in `30d`, `12h`, `90m`, `45s`, `2w` or a sum such as `1d12h`; a `ValueError` else.

    A unit is required: a bare `30` could mean days or seconds, and a retention of 30 seconds
    would quietly delete a month of history.
    """
    compact = text.strip().lower().replace(" ", "")
    if not _WHOLE.fullmatch(compact):
        raise ValueError(f"expected a duration such as 30d, 12h or 90m, got {text!r}")
    seconds = sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(compact))
    if not seconds > 0 or not math.isfinite(seconds):
        raise ValueError(f"a duration must be positive, got {text!r}")
    return seconds


def parse_interval(text: str) -> float:
    """Seconds from a plain number (`0.5`, `60`) or a duration with a unit (`1m`)."""
    try:
        seconds = float(text)
    except ValueError:
        return parse_duration(text)
    if not seconds > 0 or not math.isfinite(seconds):
        raise ValueError(f"an interval must be a positive number of seconds, got {text!r}")
    return seconds


def parse_instant(text: str) -> datetime:
    """An aware UTC datetime from ISO-8601 (a naive one is UTC) or Unix seconds."""
    raw = text.strip()
    try:
        seconds = float(raw)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise ValueError(f"expected an ISO-8601 time or Unix seconds, got {text!r}")
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"time out of range: {text!r}") from None
    try:
        moment = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"expected an ISO-8601 time or Unix seconds, got {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
