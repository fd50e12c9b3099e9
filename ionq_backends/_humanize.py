"""Durations and ages as people read them (pure): one formatter for the CLI, the examples and
users' own output."""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["format_age", "format_duration"]


def format_duration(value: timedelta | None) -> str:
    """`3h 23m`, `19m 41s`, `12s`; `-` when unknown."""
    if value is None:
        return "-"
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def format_age(moment: datetime | None, now: datetime) -> str:
    """`5 min ago`, `3 h ago`; `-` when unknown."""
    if moment is None:
        return "-"
    seconds = (now - moment).total_seconds()
    ahead = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        text = f"{int(seconds)} s"
    elif seconds < 3600:
        text = f"{int(seconds // 60)} min"
    elif seconds < 86400:
        text = f"{int(seconds // 3600)} h"
    else:
        text = f"{int(seconds // 86400)} d"
    return f"in {text}" if ahead else f"{text} ago"
