"""The emulator's query parameters, checked as IonQ's API (Fastify) checks them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ._versions import Rendering

__all__ = ["BadQuery", "int_param", "when_param"]


class BadQuery(Exception):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def int_param(query: Any, key: str, default: int, low: int, high: int | None) -> int:
    raw = query.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadQuery(key, f"querystring.{key} must be integer") from None
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"between {low} and {high}"
        raise BadQuery(key, f"querystring.{key} must be {bound}")
    return value


def when_param(query: Any, key: str, rendering: Rendering) -> datetime | None:
    raw = query.get(key)
    if raw is None:
        return None
    try:
        return rendering.parse_when(raw)
    except (ValueError, OverflowError, OSError):
        raise BadQuery(key, f"querystring.{key} must be {rendering.when_expected}") from None
