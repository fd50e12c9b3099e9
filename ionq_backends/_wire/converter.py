"""Build one API version's cattrs converter from its field tables (pure, no I/O).

The walk over an object is shared by every version; what differs is the tables a profile gives.
Every failure leaves as a `ResponseValidationError` whose problems keep their JSON paths.
"""

from __future__ import annotations

import itertools
import linecache
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import attrs
import cattrs

from .._errors import ResponseValidationError
from .._models import Backend, Characterization, CharacterizationPage, Timing
from .dates import iso_z
from .parse import (
    MAX_INTEGER,
    Invalid,
    Parser,
    Table,
    each,
    fail,
    got,
    integer,
    number,
    strings,
    walk,
)

__all__ = ["Structurers", "Tables", "build_converter", "build_structurers"]

T = TypeVar("T")


@attrs.frozen
class Tables:
    """The wire format of one API version's objects."""

    backend: Table
    characterization: Table


_PAGE = Table(
    {"characterizations": ("characterizations", lambda v: v), "pages": ("pages", integer)}
)


@attrs.frozen
class Structurers:
    """One version's structure functions: JSON in, a model out, or a `ResponseValidationError`.

    The client calls them directly (a request's hot path skips cattrs' dispatch); a converter
    registers the same functions as its hooks.
    """

    backend: Callable[[Any], Backend]
    backends: Callable[[Any], list[Backend]]
    characterization: Callable[[Any], Characterization]
    page: Callable[[Any], CharacterizationPage]


def build_converter(structurers: Structurers) -> cattrs.Converter:
    """A fresh converter whose hooks are `structurers`."""
    converter = cattrs.Converter()
    for cls, build in (
        (Backend, structurers.backend),
        (Characterization, structurers.characterization),
        (CharacterizationPage, structurers.page),
    ):
        converter.register_structure_hook(cls, _hook(build))
    # A parametrized generic is no class, so it is matched by predicate.
    converter.register_structure_hook_func(
        lambda t: t == list[Backend], _hook(structurers.backends)
    )
    converter.register_unstructure_hook(datetime, iso_z)
    return converter


def build_structurers(api_version: str, tables: Tables, strict: bool) -> Structurers:
    """The structure functions of `api_version`'s JSON."""

    def backend_walk(obj: Any) -> Backend:
        kwargs, extra = walk(obj, tables.backend, strict, "backend object")
        return Backend(**kwargs, extra=extra, api_version=api_version)

    # An item of a list raises `Invalid`, which the list places under the item's index. A
    # backend on its own leaves every problem to a walk that raises the error itself: the usual
    # answer then goes through no wrapper.
    item = compile_backend(tables.backend, api_version, strict, backend_walk)
    backend = compile_backend(tables.backend, api_version, strict, _raising(backend_walk))

    def characterization(obj: Any) -> Characterization:
        kwargs, extra = walk(obj, tables.characterization, strict, "characterization object")
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
            fail("array of backends", obj)
        return each(((f"[{i}]", value) for i, value in enumerate(obj)), item)

    def page(obj: Any) -> CharacterizationPage:
        kwargs, _extra = walk(obj, _PAGE, strict, "object")
        raw = kwargs.get("characterizations")
        if raw is None:  # the live API sends `null` for a backend without data
            return CharacterizationPage((), kwargs.get("pages"))
        if type(raw) is not list:
            raise Invalid([(".characterizations", f"expected array, got {got(raw)}")])
        items = each(
            ((f".characterizations[{i}]", item) for i, item in enumerate(raw)), characterization
        )
        return CharacterizationPage(tuple(items), kwargs.get("pages"))

    return Structurers(
        backend=backend,
        backends=_raising(backends),
        characterization=_raising(characterization),
        page=_raising(page),
    )


def _raising(build: Callable[[Any], T]) -> Callable[[Any], T]:
    """`build`, its problems raised as a `ResponseValidationError`."""

    def structure(obj: Any) -> T:
        try:
            return build(obj)
        except Invalid as invalid:
            raise ResponseValidationError(invalid.problems) from None

    return structure


def _hook(structure: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda obj, _cls: structure(obj)


# The generated Backend structurer


_SERIAL = itertools.count(1)


def _positional(model: type, value_of: Mapping[str, str]) -> list[str]:
    """The arguments of `model(...)` in field order (a positional call is the cheapest)."""
    arguments = []
    for field in attrs.fields(model):
        if field.name not in value_of and field.default is not None:
            raise TypeError(f"{model.__name__}.{field.name} needs a value: its default is not None")
        arguments.append(value_of.get(field.name, "None"))
    return arguments


# Parsers the generated code inlines for the values the wire usually carries: each expression
# equals `{parse}(v)` for every `v` (falling back to the call for anything else), or raises the
# `TypeError` of `"".join` on a non-string, which sends the object to the walk. A call costs more
# than the check itself, and a backend has a dozen of them (counted with callgrind).
_INLINE: dict[Parser, str] = {
    number: "(v if v - v == 0.0 else {parse}(v)) if type(v) is float else "
    "float(v) if type(v) is int and -_MAX <= v <= _MAX else {parse}(v)",  # v - v: NaN, ±inf
    integer: "v if type(v) is int and -_MAX <= v <= _MAX else {parse}(v)",
    strings: "_tuple(v) if type(v) is list and _join(v) is not None else {parse}(v)",
}


def _reading(table: Table, key: str, assign: str) -> list[str]:
    """The generated lines that read `key` and, when it is there, run `assign`."""
    if key in table.required:
        missing = ["        if v is None:", "            return walk(obj)"]
        return [f"        v = get({key!r})", *missing, f"        {assign}"]
    lines = [f"        v = get({key!r})", "        if v is not None:", "            read += 1"]
    # A shadowed key is taken only when the earlier key for its attribute is absent.
    primary = table.shadowed.get(key)
    if primary:
        return [*lines, f"            if {primary!r} not in obj:", f"                {assign}"]
    return [*lines, f"            {assign}"]


def compile_backend(
    table: Table, api_version: str, strict: bool, walk: Callable[[Any], Backend]
) -> Callable[[Any], Backend]:
    """Generate a straight-line structurer for Backend from `table`, as cattrs generates its own.

    A backend is structured on every poll, and the generic walk spends most of its time on
    per-key bookkeeping. The generated code takes the common case directly: every known key
    read once, values already of their wire type taken as they are, the usual values of numbers
    and string lists checked inline, parsers called for the rest. Anything unusual (a parser's
    problem, a required key missing, an unknown key in strict mode) goes to `walk`, which owns
    every message. tests/test_converters_fuzz.py checks that both agree on any input. Its
    source is registered with `linecache`, so a traceback shows it.
    """
    names: dict[str, Any] = {"_Invalid": Invalid, "Backend": Backend, "_MAX": MAX_INTEGER}
    names |= {"_join": "".join, "_tuple": tuple, "known": frozenset(table.plan)}
    body = [
        "def structure(obj):",
        "    if type(obj) is not dict:",
        "        return walk(obj)",
        "    get = obj.get",
        f"    read = {len(table.required)}",  # keys read: when all of obj's, none is unknown
        "    try:",
    ]
    value_of: dict[str, str] = {"api_version": repr(api_version), "extra": "extra"}
    for i, (key, (attr, parse, as_is)) in enumerate(table.plan.items()):
        names[f"parse{i}"], names[f"type{i}"] = parse, as_is
        var = value_of.setdefault(attr, f"a{len(value_of)}")
        if key not in table.shadowed:
            body.insert(4, f"    {var} = None")  # absent and null are both None
        if as_is:  # a value already of its wire type is taken as it is
            take = f"v if type(v) is type{i} else parse{i}(v)"
        else:
            take = _INLINE.get(parse, "{parse}(v)").format(parse=f"parse{i}")
        body += _reading(table, key, f"{var} = {take}")
    body += [
        "    except (_Invalid, TypeError):",
        "        return walk(obj)",
        "    if read == len(obj) or obj.keys() <= known:",  # the second for known keys sent null
        "        extra = {}",
        "    elif strict:",
        "        return walk(obj)",
        "    else:",
        "        extra = {k: v for k, v in obj.items() if k not in known}",
        f"    return Backend({', '.join(_positional(Backend, value_of))})",
    ]
    names |= {"walk": walk, "strict": strict}
    source = "\n".join(body) + "\n"
    filename = f"<ionq_backends generated Backend structurer {api_version} #{next(_SERIAL)}>"
    # As cattrs does for its generated code: a traceback through it shows these lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), names)  # the source is built above from the table only
    structure: Callable[[Any], Backend] = names["structure"]
    return structure
