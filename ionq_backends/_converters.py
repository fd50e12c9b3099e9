"""Structure IonQ's wire JSON into the models: one cattrs converter per API version.

Every v0.3/v0.4 difference lives in the field tables of `_tables()`; the walk over an object is
shared. Problems are collected rather than raised one at a time, so a `ResponseValidationError`
lists all of them, each with a JSON path in wire keys (`$[3].last_updated: ...`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from itertools import repeat
from typing import Any, NoReturn, TypeVar

import attrs
import cattrs

from ._constants import API_VERSIONS
from ._errors import ResponseValidationError
from ._models import (
    Backend,
    BackendStatus,
    Characterization,
    CharacterizationPage,
    FidelityStat,
    Timing,
)

__all__ = ["check_api_version", "make_converter", "reroot"]

Problems = list[tuple[str, str]]  # (path relative to the value, message)
T = TypeVar("T")
Parser = Callable[[Any], Any]


class _Invalid(Exception):
    """Problems found in one value, with paths relative to it."""

    def __init__(self, problems: Problems) -> None:
        super().__init__(problems)
        self.problems = problems


def _got(value: Any) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _fail(expected: str, value: Any) -> NoReturn:
    raise _Invalid([("", f"expected {expected}, got {_got(value)}")])


def _key(key: str) -> str:
    return f".{key}" if key.isidentifier() else f"[{json.dumps(key)}]"


def _each(items: Iterable[tuple[str, Any]], parse: Callable[[Any], T]) -> list[T]:
    """Parse every `(path, value)`, collecting every item's problems under its path."""
    parsed: list[T] = []
    problems: Problems = []
    for path, value in items:
        try:
            parsed.append(parse(value))
        except _Invalid as invalid:
            problems.extend((path + sub, message) for sub, message in invalid.problems)
    if problems:
        raise _Invalid(problems)
    return parsed


# Leaf parsers. `type(v) is int` on purpose: JSON booleans are not numbers.


def _number(value: Any) -> float:
    if type(value) is float or type(value) is int:
        return float(value)
    _fail("number", value)


def _integer(value: Any) -> int:
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    _fail("integer", value)


def _boolean(value: Any) -> bool:
    if type(value) is bool:
        return value
    _fail("boolean", value)


def _string(value: Any) -> str:
    if type(value) is str:
        return value
    _fail("string", value)


def _strings(value: Any) -> tuple[str, ...]:
    if type(value) is not list:
        _fail("array of strings", value)
    if not all(map(isinstance, value, repeat(str))):  # a C-level loop: gate lists are long
        raise _Invalid(
            [(f"[{i}]", f"expected string, got {_got(v)}") for i, v in enumerate(value)
             if type(v) is not str]
        )  # fmt: skip
    return tuple(value)


def _epoch(value: Any) -> datetime:
    if (type(value) is int or type(value) is float) and math.isfinite(value):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    _fail("epoch seconds", value)


def _iso(value: Any) -> datetime:
    if type(value) is str:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            # The API ends its datetimes in "Z"; a naive one is read as UTC, not local time.
            if parsed.tzinfo is UTC:
                return parsed
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)
    _fail("ISO-8601 datetime", value)


def _id_from_url(value: Any) -> str:
    """v0.3 links a characterization as `/characterizations/<uuid>`: keep the id."""
    if type(value) is str:
        tail = value.rstrip("/").rpartition("/")[2]
        if tail:
            return tail
    _fail("characterization URL", value)


# Leaf parsers and the wire type each returns unchanged (see _Table.plan).
_AS_IS: dict[Parser, type] = {_string: str, _number: float, _integer: int, _boolean: bool}


def _pairs(value: Any) -> tuple[tuple[int, int], ...]:
    if type(value) is not list:
        _fail("array of qubit pairs", value)
    pairs: list[tuple[int, int]] = []
    problems: Problems = []
    for i, pair in enumerate(value):
        if type(pair) is list and len(pair) == 2 and type(pair[0]) is int and type(pair[1]) is int:
            pairs.append((pair[0], pair[1]))
        else:
            problems.append((f"[{i}]", f"expected pair of qubit indices, got {_got(pair)}"))
    if problems:
        raise _Invalid(problems)
    return tuple(pairs)


def _status(strict: bool) -> Parser:
    known = {member.value: member for member in BackendStatus}

    def parse(value: Any) -> BackendStatus | str:
        if type(value) is not str:
            _fail("string", value)
        member = known.get(value)
        if member is not None:
            return member
        if strict:
            raise _Invalid([("", f"unknown status {_got(value)}")])
        return value

    return parse


@attrs.frozen
class _Table:
    """How the wire keys of one object map to a model's fields."""

    fields: Mapping[str, tuple[str, Parser]]
    required: frozenset[str] = frozenset()
    # Derived once: (attribute, parser, wire type the parser would return unchanged). A value of
    # exactly that type is taken without a call; the hot path of every poll goes through here.
    plan: Mapping[str, tuple[str, Parser, type | None]] = attrs.field(init=False)

    @plan.default
    def _plan(self) -> Mapping[str, tuple[str, Parser, type | None]]:
        return {k: (attr, parse, _AS_IS.get(parse)) for k, (attr, parse) in self.fields.items()}


def _walk(
    obj: Any, table: _Table, strict: bool, what: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Parse `obj` by `table`: return (model keyword arguments, unknown keys)."""
    if type(obj) is not dict:
        _fail(what, obj)
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    problems: Problems = []
    plan = table.plan
    for key, value in obj.items():
        spec = plan.get(key)
        if spec is None:
            if strict:
                problems.append((_key(key), "unknown field"))
            else:
                extra[key] = value
            continue
        attr, parse, as_is = spec
        if type(value) is as_is:
            kwargs[attr] = value
            continue
        if value is None and key not in table.required:
            kwargs[attr] = None  # the live API sends null where its spec promises a value
            continue
        try:
            kwargs[attr] = parse(value)
        except _Invalid as invalid:
            problems.extend((_key(key) + sub, message) for sub, message in invalid.problems)
    for key in table.required:
        if key not in obj:
            problems.append((_key(key), "required field missing"))
    if problems:
        raise _Invalid(problems)
    return kwargs, extra


def _fidelity(statistic: str, strict: bool) -> Parser:
    other = "median" if statistic == "mean" else "mean"

    def parse_stat(value: Any) -> FidelityStat:
        if type(value) is not dict:
            _fail("object", value)
        problems: Problems = []
        if strict:
            problems.extend(
                (_key(k), "unknown field") for k in value if k not in (statistic, other, "stderr")
            )
        used = statistic if statistic in value or other not in value else other
        parsed: dict[str, float | None] = {}
        for key in (used, "stderr"):
            raw = value.get(key)
            try:
                parsed[key] = None if raw is None else _number(raw)
            except _Invalid as invalid:
                problems.extend((_key(key) + sub, m) for sub, m in invalid.problems)
        if problems:
            raise _Invalid(problems)
        return FidelityStat(value=parsed[used], stderr=parsed["stderr"], statistic=used)

    def parse(value: Any) -> dict[str, FidelityStat]:
        if type(value) is not dict:
            _fail("object", value)
        keys = [key for key, stat in value.items() if stat is not None]
        return dict(zip(keys, _each(((_key(k), value[k]) for k in keys), parse_stat), strict=True))

    return parse


_TIMING = _Table(
    {
        "t1": ("t1", _number),
        "t2": ("t2", _number),
        "1q": ("one_qubit", _number),
        "2q": ("two_qubit", _number),
        "readout": ("readout", _number),
        "reset": ("reset", _number),
    }
)


def _timing(strict: bool) -> Parser:
    def parse(value: Any) -> Timing:
        kwargs, extra = _walk(value, _TIMING, strict, "object")
        return Timing(**kwargs, extra=extra)

    return parse


@attrs.frozen
class _Tables:
    backend: _Table
    characterization: _Table


def _tables(api_version: str, strict: bool) -> _Tables:
    """The wire format of one API version: every difference between v0.3 and v0.4 is here."""
    v3 = api_version == "v0.3"
    when = _epoch if v3 else _iso
    backend: dict[str, tuple[str, Parser]] = {
        "backend": ("name", _string),
        "status": ("status", _status(strict)),
        "qubits": ("qubits", _integer),
        "average_queue_time": ("average_queue_time", _number),
        "last_updated": ("last_updated", when),
        "degraded": ("degraded", _boolean),
        "noise_models": ("noise_models", _strings),
        "has_access": ("has_access", _boolean),
    }
    if v3:
        backend["characterization_url"] = ("characterization_id", _id_from_url)
    else:
        backend |= {
            "characterization_id": ("characterization_id", _string),
            "kw": ("kw", _number),
            "location": ("location", _string),
            "supported_gates": ("supported_gates", _strings),
            "supported_native_gates": ("supported_native_gates", _strings),
            "supported_error_mitigations": ("supported_error_mitigations", _strings),
        }
    characterization: dict[str, tuple[str, Parser]] = {
        "id": ("id", _string),
        "backend": ("backend", _string),
        "date": ("date", when),
        "qubits": ("qubits", _integer),
        "connectivity": ("connectivity", _pairs),
        "fidelity": ("fidelity", _fidelity("mean" if v3 else "median", strict)),
        "timing": ("timing", _timing(strict)),
    }
    return _Tables(
        backend=_Table(backend, frozenset({"backend", "status"})),
        characterization=_Table(characterization, frozenset({"id"})),
    )


_PAGE = _Table(
    {"characterizations": ("characterizations", lambda v: v), "pages": ("pages", _integer)}
)


_MISSING = object()


def _positional(model: type, value_of: Mapping[str, str]) -> list[str]:
    """The arguments of `model(...)` in field order (a positional call is the cheapest)."""
    arguments = []
    for field in attrs.fields(model):
        if field.name not in value_of and field.default is not None:
            raise TypeError(f"{model.__name__}.{field.name} needs a value: its default is not None")
        arguments.append(value_of.get(field.name, "None"))
    return arguments


def _compile_backend(
    table: _Table, api_version: str, strict: bool, walk: Callable[[Any], Backend]
) -> Callable[[Any], Backend]:
    """Generate a straight-line structurer for Backend from `table`, as cattrs generates its own.

    A backend is structured on every poll, and the generic `_walk` spends most of its time on
    per-key bookkeeping. The generated code takes the common case directly: every known key
    read once, values already of their wire type taken as they are, parsers called for the rest.
    Anything unusual (a parser's problem, a required key missing, an unknown key in strict
    mode) goes to `walk`, which owns every message. tests/test_converters_fuzz.py checks that
    both agree on any input.
    """
    names: dict[str, Any] = {"_MISSING": _MISSING, "_Invalid": _Invalid, "Backend": Backend}
    names["known"] = frozenset(table.plan)
    body = [
        "def structure(obj):",
        "    if type(obj) is not dict:",
        "        return walk(obj)",
        "    get = obj.get",
        "    seen = 0",
        "    try:",
    ]
    value_of: dict[str, str] = {"api_version": repr(api_version), "extra": "extra"}
    for i, (key, (attr, parse, as_is)) in enumerate(table.plan.items()):
        names[f"parse{i}"], names[f"type{i}"] = parse, as_is
        required = key in table.required
        body += [
            f"        v = get({key!r}, _MISSING)",
            "        if v is _MISSING:",
            "            return walk(obj)" if required else f"            v{i} = None",
            "        else:",
            "            seen += 1",
            f"            if type(v) is type{i}:",
            f"                v{i} = v",
            "            elif v is None:",
            "                return walk(obj)" if required else f"                v{i} = None",
            "            else:",
            f"                v{i} = parse{i}(v)",
        ]
        value_of[attr] = f"v{i}"
    body += [
        "    except _Invalid:",
        "        return walk(obj)",
        "    if len(obj) == seen:",
        "        extra = {}",
        "    elif strict:",
        "        return walk(obj)",
        "    else:",
        "        extra = {k: v for k, v in obj.items() if k not in known}",
        f"    return Backend({', '.join(_positional(Backend, value_of))})",
    ]
    names |= {"walk": walk, "strict": strict}
    exec("\n".join(body), names)  # the source is built above from the table only
    structure: Callable[[Any], Backend] = names["structure"]
    return structure


def _render(problems: Problems, root: str = "$") -> list[str]:
    return [f"{root}{path}: {message}" for path, message in problems]


def reroot(error: ResponseValidationError, prefix: str) -> ResponseValidationError:
    """Return `error` with its paths moved under `prefix` (e.g. `[3]`), for items of a list."""
    return ResponseValidationError(
        "$" + prefix + e[1:] if e.startswith("$") else e for e in error.errors
    )


def check_api_version(api_version: str) -> str:
    """Return `api_version` if ionq-backends speaks it, else raise `ValueError`."""
    if api_version not in API_VERSIONS:
        raise ValueError(
            f"unknown api_version {api_version!r}: expected one of {', '.join(API_VERSIONS)}"
        )
    return api_version


def make_converter(api_version: str, *, strict: bool = False) -> cattrs.Converter:
    """Build a fresh converter that structures `api_version`'s JSON into the models.

    Lenient by default: unknown keys go to `extra`, unknown statuses stay strings. With
    `strict=True` both are errors. Backend names are never checked. Every failure is a
    `ResponseValidationError` naming each problem's JSON path.
    """
    check_api_version(api_version)
    tables = _tables(api_version, strict)

    def backend_walk(obj: Any) -> Backend:
        kwargs, extra = _walk(obj, tables.backend, strict, "backend object")
        return Backend(**kwargs, extra=extra, api_version=api_version)

    backend = _compile_backend(tables.backend, api_version, strict, backend_walk)

    def characterization(obj: Any) -> Characterization:
        kwargs, extra = _walk(obj, tables.characterization, strict, "characterization object")
        kwargs.setdefault("backend", None)
        kwargs.setdefault("date", None)
        if kwargs.get("timing") is None:
            kwargs["timing"] = Timing()
        if kwargs.get("fidelity") is None:
            kwargs["fidelity"] = {}
        if kwargs.get("connectivity") is None:
            kwargs["connectivity"] = ()
        return Characterization(**kwargs, extra=extra, api_version=api_version)

    def backends(obj: Any) -> list[Backend]:
        if type(obj) is not list:
            _fail("array of backends", obj)
        return _each(((f"[{i}]", item) for i, item in enumerate(obj)), backend)

    def page(obj: Any) -> CharacterizationPage:
        kwargs, _extra = _walk(obj, _PAGE, strict, "object")
        raw = kwargs.get("characterizations")
        if raw is None:  # the live API sends `null` for a backend without data
            return CharacterizationPage((), kwargs.get("pages"))
        if type(raw) is not list:
            raise _Invalid([(".characterizations", f"expected array, got {_got(raw)}")])
        items = _each(
            ((f".characterizations[{i}]", item) for i, item in enumerate(raw)), characterization
        )
        return CharacterizationPage(tuple(items), kwargs.get("pages"))

    converter = cattrs.Converter()
    for cls, build in (
        (Backend, backend),
        (Characterization, characterization),
        (CharacterizationPage, page),
    ):
        converter.register_structure_hook(cls, _hook(build))
    # A parametrized generic is no class, so it is matched by predicate.
    converter.register_structure_hook_func(lambda t: t == list[Backend], _hook(backends))
    converter.register_unstructure_hook(datetime, _iso_z)
    return converter


def _hook(build: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    def structure(obj: Any, _cls: Any) -> Any:
        try:
            return build(obj)
        except _Invalid as invalid:
            raise ResponseValidationError(_render(invalid.problems)) from None

    return structure


def _iso_z(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
