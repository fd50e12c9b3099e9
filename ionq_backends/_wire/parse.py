"""Leaf parsers and the table walk shared by every API version (pure, no I/O).

A parser takes one JSON value and returns its Python value or raises `Invalid` with the problems
found, each a (path relative to the value, message) pair. Problems are collected, never raised one
at a time, so an error lists all of them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

import attrs

from .._models import BackendStatus

__all__ = [
    "Invalid",
    "Parser",
    "Problems",
    "Table",
    "boolean",
    "each",
    "epoch",
    "integer",
    "iso",
    "key",
    "number",
    "pairs",
    "status",
    "string",
    "strings",
    "walk",
]

Problems = list[tuple[str, str]]  # (path relative to the value, message)
T = TypeVar("T")
Parser = Callable[[Any], Any]


class Invalid(Exception):
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


def each(items: Iterable[tuple[str, Any]], parse: Callable[[Any], T]) -> list[T]:
    """Parse every `(path, value)`, collecting every item's problems under its path."""
    parsed: list[T] = []
    problems: Problems = []
    for path, value in items:
        try:
            parsed.append(parse(value))
        except Invalid as invalid:
            problems.extend((path + sub, message) for sub, message in invalid.problems)
    if problems:
        raise Invalid(problems)
    return parsed


# Leaf parsers. `type(v) is int` on purpose: JSON booleans are not numbers.


# JSON numbers Python reads without complaint, but no measured value can be: NaN, Infinity and
# 1e400 (read as inf) are problems, and so is an integer past what any count or epoch could be.
MAX_INTEGER = 2**53


def number(value: Any) -> float:
    if type(value) is float:
        if math.isfinite(value):
            return value
        fail("finite number", value)
    if type(value) is int:
        if -MAX_INTEGER <= value <= MAX_INTEGER:
            return float(value)
        fail("number in range", value)
    fail("number", value)


def integer(value: Any) -> int:
    if type(value) is int and -MAX_INTEGER <= value <= MAX_INTEGER:
        return value
    if type(value) is float and value.is_integer() and abs(value) <= MAX_INTEGER:
        return int(value)
    fail("integer" if type(value) is not int else "integer in range", value)


def boolean(value: Any) -> bool:
    if type(value) is bool:
        return value
    fail("boolean", value)


def string(value: Any) -> str:
    if type(value) is str:
        return value
    fail("string", value)


_join = "".join


def strings(value: Any) -> tuple[str, ...]:
    if type(value) is not list:
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


def when(value: Any) -> datetime:
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
    fail("ISO-8601 datetime or epoch number", value)


def link_id(value: Any) -> str:
    """An id the client will put in a path: a dot segment or an empty one is refused here."""
    if type(value) is str and value not in ("", ".", ".."):
        return value
    fail("characterization id", value)


def id_from_url(value: Any) -> str:
    """v0.3 links a characterization as `/characterizations/<uuid>`: keep the id."""
    if type(value) is str:
        tail = value.rstrip("/").rpartition("/")[2]
        if tail not in ("", ".", ".."):
            return tail
    fail("characterization URL", value)


# Leaf parsers and the wire type each returns unchanged (see Table.plan).
# Numbers are not among them: every one is checked to be finite and in range.
AS_IS: dict[Parser, type] = {string: str, boolean: bool}


def pairs(value: Any) -> tuple[tuple[int, int], ...]:
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


def status(strict: bool) -> Parser:
    known = {member.value: member for member in BackendStatus}

    def parse(value: Any) -> BackendStatus | str:
        if type(value) is not str:
            fail("string", value)
        member = known.get(value)
        if member is not None:
            return member
        if strict:
            raise Invalid([("", f"unknown status {got(value)}")])
        return value

    return parse


@attrs.frozen
class Table:
    """How the wire keys of one object map to a model's fields."""

    fields: Mapping[str, tuple[str, Parser]]
    required: frozenset[str] = frozenset()
    # A key whose attribute an earlier key of the table also fills -> that earlier key. When
    # both are present the earlier one wins (e.g. `characterization_id` over `_url`).
    shadowed: Mapping[str, str] = attrs.field(init=False)
    # Derived once: (attribute, parser, wire type the parser would return unchanged). A value of
    # exactly that type is taken without a call; the hot path of every poll goes through here.
    plan: Mapping[str, tuple[str, Parser, type | None]] = attrs.field(init=False)

    @plan.default
    def _plan(self) -> Mapping[str, tuple[str, Parser, type | None]]:
        return {k: (attr, parse, AS_IS.get(parse)) for k, (attr, parse) in self.fields.items()}

    @shadowed.default
    def _shadowed(self) -> Mapping[str, str]:
        first: dict[str, str] = {}
        shadowed: dict[str, str] = {}
        for name, (attr, _parse) in self.fields.items():
            if attr in first:
                shadowed[name] = first[attr]
            else:
                first[attr] = name
        return shadowed


def walk(obj: Any, table: Table, strict: bool, what: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Parse `obj` by `table`: return (model keyword arguments, unknown keys)."""
    if type(obj) is not dict:
        fail(what, obj)
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    problems: Problems = []
    plan = table.plan
    shadowed = table.shadowed
    for name, value in obj.items():
        spec = plan.get(name)
        if spec is None:
            if strict:
                problems.append((key(name), "unknown field"))
            else:
                extra[name] = value
            continue
        if name in shadowed and shadowed[name] in obj:
            continue  # the table's earlier key for the same attribute is there, and wins
        attr, parse, as_is = spec
        if type(value) is as_is:
            kwargs[attr] = value
            continue
        if value is None and name not in table.required:
            kwargs[attr] = None  # the live API sends null where its spec promises a value
            continue
        try:
            kwargs[attr] = parse(value)
        except Invalid as invalid:
            problems.extend((key(name) + sub, message) for sub, message in invalid.problems)
    for name in table.required:
        if name not in obj:
            problems.append((key(name), "required field missing"))
    if problems:
        raise Invalid(problems)
    return kwargs, extra
