"""Checks of a caller's parameters, made before any request (pure).

Each raises `TypeError` for a value of the wrong type and `ValueError` for one out of range, and
names the parameter. NaN and infinities are refused wherever a finite number is meant.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ._retry import RetryPolicy

__all__ = ["api_key", "backend_name", "backend_names", "finite", "headers", "integer", "max_age",
           "retry_policy"]  # fmt: skip


def finite(name: str, value: Any, *, low: float = 0.0, inclusive: bool = False) -> float:
    """A finite real number above `low` (or equal to it when `inclusive`)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value < low or (value == low and not inclusive):
        bound = f">= {low:g}" if inclusive else f"> {low:g}"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(value)


def max_age(value: float | None) -> float | None:
    """`max_age=`: `None` (the client's default) or seconds >= 0."""
    return None if value is None else finite("max_age", value, inclusive=True)


def integer(name: str, value: Any, *, low: int, high: int | None = None) -> int:
    """An `int` (not a bool) in `[low, high]`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return value


class SealedKey:
    """The API key on its way in, as no `str`: error reporters (Sentry, by default) read every
    frame's locals, a string by its value, anything else by its repr, which this redacts."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "SealedKey([REDACTED])"


def api_key(sealed: SealedKey) -> str | None:
    """The key as it will be sent: printable ASCII only, so what is sent is what was set.

    A CR, LF or NUL would split or end the header; a non-ASCII character (a lone surrogate from
    an undecodable environment byte) would be changed or dropped on the way. The message never
    repeats the key, and no local of this frame holds it whole.
    """
    if sealed.value is None or sealed.value == "":
        return None
    if not isinstance(sealed.value, str):
        raise TypeError(f"api_key must be a str, got {type(sealed.value).__name__}")
    for index, char in enumerate(sealed.value):
        if not "\x21" <= char <= "\x7e":
            raise ValueError(
                f"api_key has a character that cannot be sent in a header at index {index} "
                f"(U+{ord(char):04X}); expected printable ASCII"
            )
    return str(sealed.value)


def headers(
    default_headers: Mapping[str, str] | None, user_agent: str | None, base_agent: str
) -> dict[str, str]:
    """The caller's headers, and `User-Agent: <ours> <suffix>` when a suffix names the service.

    `Authorization` is the key's alone, so it is refused here; every name and value must be
    printable, so that no header can be split.
    """
    result: dict[str, str] = {}
    for name, value in (default_headers or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError("default_headers must map str to str")
        if name.lower() == "authorization":
            raise ValueError("default_headers must not set Authorization: pass api_key")
        _header_text(f"header name {name!r}", name)
        _header_text(f"header {name!r}", value)
        result[name] = value
    if user_agent is not None:
        if not isinstance(user_agent, str):
            raise TypeError(f"user_agent must be a str, got {type(user_agent).__name__}")
        _header_text("user_agent", user_agent)
        result["User-Agent"] = f"{base_agent} {user_agent}"
    return result


def _header_text(what: str, value: str) -> None:
    if not value or any(not " " <= char <= "~" for char in value):
        raise ValueError(f"{what} must be non-empty printable ASCII")


def backend_name(name: Any) -> str:
    """A backend name as given; anything but a `str` is a caller's mistake. Whether it can be
    a path segment is asked where its request is made (`_urls.segment`)."""
    if not isinstance(name, str):
        raise TypeError(f"a backend name must be a str, got {type(name).__name__}")
    return str(name)


def backend_names(names: Iterable[str]) -> list[str]:
    """Backend names, each once, in the caller's order; one string alone is a mistake.

    Only their type is checked: a fan-out's names often come from the API, and one that cannot
    be a path segment is that name's error in the snapshot, never the whole call's.
    """
    if isinstance(names, str):
        raise TypeError("names must be an iterable of names, not one string")
    return list(dict.fromkeys(backend_name(n) for n in names))


def retry_policy(
    base: RetryPolicy, *, max_retries: int | None = None, retry_after_cap: float | None = None
) -> RetryPolicy:
    """`base` with the options a caller gave, each checked (`None` keeps `base`'s)."""
    if max_retries is not None:
        base = attrs.evolve(base, max_retries=integer("max_retries", max_retries, low=0))
    if retry_after_cap is not None:
        cap = finite("retry_after_cap", retry_after_cap, inclusive=True)
        base = attrs.evolve(base, retry_after_cap=cap)
    return base
