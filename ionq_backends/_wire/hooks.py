"""The leaf hooks of the converters: one JSON value in, its Python value out (pure, no I/O).

Each raises `Invalid` with the problems it found, as (path relative to the value, message)
pairs, so an error lists all of them. `converter` registers them with cattrs by type.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn

from .._models import BackendStatus

__all__ = [
    "Invalid",
    "Problems",
    "boolean",
    "epoch",
    "id_from_url",
    "integer",
    "iso",
    "key",
    "link_id",
    "number",
    "pairs",
    "status",
    "string",
    "strings",
    "when",
]

Problems = list[tuple[str, str]]  # (path relative to the value, message)
Hook = Callable[..., Any]  # (value, type) -> Python value


class Invalid(ValueError):
    """Problems found in one value, with paths relative to it."""

    def __init__(self, problems: Problems) -> None:
        super().__init__(problems)
        self.problems = problems


def got(value: Any) -> str:
    """A short JSON rendering of `value` for a message."""
    if type(value) is int and not -MAX_INTEGER <= value <= MAX_INTEGER:
        return f"an integer of {len(str(abs(value)))} digits"  # str() of a huge int is slow
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        text = f"a {type(value).__name__}"
    return text if len(text) <= 40 else text[:37] + "..."


def mismatch(expected: str, value: Any) -> tuple[str, str]:
    """The problem of a whole value that is not what was expected."""
    return "", f"expected {expected}, got {got(value)}"


def fail(expected: str, value: Any) -> NoReturn:
    raise Invalid([mismatch(expected, value)])


def key(name: str) -> str:
    """The path step for an object key: `.name`, or `["odd key"]`."""
    return f".{name}" if name.isidentifier() else f"[{json.dumps(name)}]"


# The leaf hooks. Each takes cattrs' (value, type): for a `X | None` field, cattrs passes that
# type, and null reads as `None` (the live API sends null where its spec promises a value).
# `type(v) is int` on purpose: JSON booleans are not numbers.


def _null(value: Any, t: Any) -> bool:
    """Whether `value` is a null that type `t` allows (only asked once the usual case failed)."""
    return value is None and type(None) in getattr(t, "__args__", ())


# JSON numbers Python reads without complaint, but no measured value can be: NaN, Infinity and
# 1e400 (read as inf) are problems, and so is an integer past what any count or epoch could be.
MAX_INTEGER = 2**53


def number(value: Any, t: Any = float) -> float | None:
    if type(value) is float:
        if math.isfinite(value):
            return value
        fail("finite number", value)
    if type(value) is int:
        if -MAX_INTEGER <= value <= MAX_INTEGER:
            return float(value)
        fail("number in range", value)
    if _null(value, t):
        return None
    fail("number", value)


def integer(value: Any, t: Any = int) -> int | None:
    if type(value) is int and -MAX_INTEGER <= value <= MAX_INTEGER:
        return value
    if type(value) is float and value.is_integer() and abs(value) <= MAX_INTEGER:
        return int(value)
    if _null(value, t):
        return None
    fail("integer" if type(value) is not int else "integer in range", value)


def boolean(value: Any, t: Any = bool) -> bool | None:
    if type(value) is bool:
        return value
    if _null(value, t):
        return None
    fail("boolean", value)


def string(value: Any, t: Any = str) -> str | None:
    if type(value) is str:
        return value
    if _null(value, t):
        return None
    fail("string", value)


_join = "".join


def strings(value: Any, t: Any = tuple[str, ...]) -> tuple[str, ...] | None:
    if type(value) is not list:
        if _null(value, t):
            return None
        fail("array of strings", value)
    try:
        _join(value)  # raises at the first non-string: a C loop, a third of an isinstance map's
    except TypeError:
        raise Invalid(
            [(f"[{i}]", f"expected string, got {got(v)}") for i, v in enumerate(value)
             if type(v) is not str]
        ) from None  # fmt: skip
    return tuple(value)


# Epoch seconds and epoch milliseconds mix in live lists (1648557585 beside 1647863473555). Their
# magnitudes part at 1e11: as seconds that is the year 5138, as milliseconds 1973-03-03.
EPOCH_MILLIS_FROM = 1e11


def epoch(value: Any) -> datetime:
    """Epoch seconds, or epoch milliseconds when the magnitude says so (see EPOCH_MILLIS_FROM)."""
    if (type(value) is int and -MAX_INTEGER <= value <= MAX_INTEGER) or (
        type(value) is float and math.isfinite(value)
    ):
        seconds = value / 1000 if abs(value) >= EPOCH_MILLIS_FROM else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    fail("epoch seconds or milliseconds", value)


def iso(value: Any) -> datetime:
    if type(value) is str:
        try:
            parsed = datetime.fromisoformat(value)
            # The API ends its datetimes in "Z"; a naive one is read as UTC, not local time.
            if parsed.tzinfo is UTC:
                return parsed
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)  # OverflowError at the calendar's edges
        except (ValueError, OverflowError):
            pass
    fail("ISO-8601 datetime", value)


# ISO stamps already read, by text: a poll reads the same few again (captured lists carry one
# `last_updated` for every backend), a datetime is immutable, and a hit costs a tenth of parsing.
_ISO_READ: dict[str, datetime] = {}
_ISO_READ_MAX = 1024


def when(value: Any, t: Any = datetime) -> datetime | None:
    """A datetime in either encoding, in every version: an ISO-8601 string or an epoch number.

    Integrators' fixtures mix them (integer epochs in v0.4-era lists); strict mode is about
    unknown keys and statuses, not encodings.
    """
    if type(value) is str:
        found = _ISO_READ.get(value)
        if found is None:
            found = iso(value)  # a problem raises here, and nothing is kept
            if len(_ISO_READ) >= _ISO_READ_MAX:
                _ISO_READ.clear()
            _ISO_READ[value] = found
        return found
    if type(value) is int or type(value) is float:
        return epoch(value)
    if _null(value, t):
        return None
    fail("ISO-8601 datetime or epoch number", value)


def link_id(value: Any, t: Any = str) -> str | None:
    """An id the client will put in a path: a dot segment or an empty one is refused here."""
    if type(value) is str and value not in ("", ".", ".."):
        return value
    if _null(value, t):
        return None
    fail("characterization id", value)


def id_from_url(value: Any, t: Any = str) -> str | None:
    """v0.3 links a characterization as `/characterizations/<uuid>`: keep the id."""
    if type(value) is str:
        tail = value.rstrip("/").rpartition("/")[2]
        if tail not in ("", ".", ".."):
            return tail
    if _null(value, t):
        return None
    fail("characterization URL", value)


def pairs(value: Any, _type: Any = None) -> tuple[tuple[int, int], ...]:
    if value is None:
        return ()  # the live API sends null where its spec promises an array
    if type(value) is not list:
        fail("array of qubit pairs", value)
    found: list[tuple[int, int]] = []
    problems: Problems = []
    for i, pair in enumerate(value):
        if type(pair) is list and len(pair) == 2 and type(pair[0]) is int and type(pair[1]) is int:
            found.append((pair[0], pair[1]))
        else:
            problems.append((f"[{i}]", f"expected pair of qubit indices, got {got(pair)}"))
    if problems:
        raise Invalid(problems)
    return tuple(found)


def status(strict: bool) -> Hook:
    """Known statuses as `BackendStatus` members; an unknown one stays a `str` unless `strict`."""
    known = {member.value: member for member in BackendStatus}

    def parse(value: Any, _type: Any = None) -> BackendStatus | str:
        if type(value) is not str:
            fail("string", value)
        member = known.get(value)
        if member is not None:
            return member
        if strict:
            raise Invalid([("", f"unknown status {got(value)}")])
        return value

    return parse
