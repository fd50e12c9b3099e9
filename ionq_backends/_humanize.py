"""Text for people (pure): durations and ages as the CLI, the examples and users print them,
and server-sent text made safe for a terminal."""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["encodable", "format_age", "format_duration", "printable"]


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


# A lone surrogate (JSON's `"\ud800"` decodes to one) is a `str` no UTF-8 output can carry: a
# terminal, a log, SQLite and /metrics would each raise on it.
_SURROGATES = {c: f"\\u{c:04x}" for c in range(0xD800, 0xE000)}
# C0 controls (ESC among them), DEL and C1 controls: a server-sent name, status or message that
# carries them could move the cursor, retitle the window, clear the screen or forge a log line.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))} | _SURROGATES


def printable(text: str) -> str:
    """`text` with every control character shown as a `\\xNN` escape and every lone surrogate as
    `\\udNNN`, for a terminal or a log line."""
    return text.translate(_CONTROLS)


def encodable(text: str) -> str:
    """`text` with every lone surrogate shown as `\\udNNN`: what UTF-8 can carry (SQLite,
    /metrics). Anything else is kept as it is."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.translate(_SURROGATES)
    return text
