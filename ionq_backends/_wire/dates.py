"""Datetimes on the wire: the one ISO-8601 "Z" formatter, and request-parameter encodings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

__all__ = ["as_utc", "epoch_millis", "iso_z"]


def iso_z(moment: datetime, timespec: Literal["auto", "seconds", "milliseconds"] = "auto") -> str:
    """`2026-11-21T20:37:53Z`: how IonQ writes a UTC datetime, and how every output of this
    package writes one. `auto` keeps microseconds when set."""
    return as_utc(moment).isoformat(timespec=timespec).replace("+00:00", "Z")


def as_utc(value: date | datetime) -> datetime:
    """An aware UTC datetime; a naive one is read as UTC, a date as its midnight UTC."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def epoch_millis(value: date | datetime) -> str:
    """Epoch milliseconds, as v0.3's `start`/`end` parameters take them."""
    return str(int(as_utc(value).timestamp() * 1000))
