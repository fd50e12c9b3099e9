"""One API version's cattrs converter, built by cattrs' own generator (pure, no I/O).

Each leaf type has one hook (`hooks`). Each model's hook is `cattrs.gen.make_dict_structure_fn`
with the version's `override`s, behind `_object_hook`, which hands the generated function what
the wire does not carry: the unknown keys (`extra`), the API version, the defaults of keys the
wire may leave out, and the other key a field may come under. Strict mode is cattrs'
`forbid_extra_keys`; in lenient mode a bad optional leaf costs only itself (`None`, its value
kept in `extra`). Every failure becomes (JSON path, message) pairs in `problems()`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    BaseValidationError,
    ForbiddenExtraKeysError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn, override

from .._errors import ResponseValidationError
from .._logging import logger
from .._models import (
    Backend,
    BackendStatus,
    Characterization,
    CharacterizationPage,
    FidelityStat,
    Timing,
)
from . import hooks
from .dates import iso_z
from .hooks import Hook, Invalid, Problems, fail, key

__all__ = ["Alias", "Shape", "WireConverter", "build_converter", "problems", "structurer"]

T = TypeVar("T")


@attrs.frozen
class Alias:
    """A field the wire sends under `key`, or under `other` when `key` is absent.

    `hook` reads the value under `other` when the field's own hook does not; `context`
    replaces the shape's when `other` is read. A value under `other` beside `key` goes to
    `extra`: neither read nor lost.
    """

    field: str
    key: str
    other: str
    hook: Hook | None = None
    context: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class Shape:
    """How one model's wire object differs from its fields, in one API version."""

    what: str  # the object in a message: "backend object"
    overrides: Mapping[str, Any] = attrs.field(factory=dict)  # `override(...)`s: renames, omissions
    context: Mapping[str, Any] = attrs.field(factory=dict)  # fields no wire key carries
    defaults: Mapping[str, Any] = attrs.field(factory=dict)  # fields the wire may leave out
    alias: Alias | None = None
    null_is_empty: bool = False  # `null` reads as `{}` (the live API sends it for an object)


class WireConverter(cattrs.Converter):
    """A converter whose `structure` raises `ResponseValidationError` naming every problem."""

    def structure(self, obj: Any, cl: Any) -> Any:
        return structurer(self, cl)(obj)


def structurer(converter: cattrs.Converter, cls: type[T]) -> Callable[..., T]:
    """`structure(data, where="")`: `cls` from `data`, its hook taken once; any problem is
    raised as a `ResponseValidationError`, its paths placed under `where` (`[3]`)."""
    hook = converter.get_structure_hook(cls)

    def structure(data: Any, where: str = "") -> T:
        try:
            made: T = hook(data, cls)
            return made
        except (Invalid, BaseValidationError) as exc:
            found = problems(exc)
            raise ResponseValidationError([(where + p, m) for p, m in found]) from None

    return structure


def build_converter(shapes: Mapping[type, Shape], strict: bool) -> WireConverter:
    """A fresh converter of the models, each read as `shapes` says (lenient unless `strict`)."""
    converter = WireConverter(detailed_validation=True, forbid_extra_keys=strict)
    leaves: dict[Any, Hook] = {
        str: hooks.string,
        bool: hooks.boolean,
        int: hooks.integer,
        float: hooks.number,
        datetime: hooks.when,
        tuple[str, ...]: hooks.strings,
        tuple[tuple[int, int], ...]: hooks.pairs,
        BackendStatus | str: hooks.status(strict),
    }

    def register(t: Any, hook: Hook) -> None:
        if isinstance(t, type):  # a class: cattrs dispatches it before any predicate
            converter.register_structure_hook(t, hook)
        else:  # `float | None`, `list[Backend]`: no classes, matched by equality
            converter.register_structure_hook_func(lambda asked: asked == t, hook)

    for leaf_type, hook in leaves.items():
        register(leaf_type, hook)
        # Each hook reads null as None for `X | None` itself: cattrs' own optional hook
        # dispatches on every value (23k more instructions a backend).
        register(leaf_type | None, hook)
    # In dependency order: cattrs resolves a field's hook when it generates its class's.
    register(FidelityStat, _object_hook(converter, FidelityStat, shapes[FidelityStat]))
    register(Mapping[str, FidelityStat], _fidelities(converter.get_structure_hook(FidelityStat)))
    for cls in (Timing, Backend, Characterization):
        register(cls, _object_hook(converter, cls, shapes[cls]))
    register(list[Backend], _array(converter, list[Backend], "array of backends"))
    # `"characterizations": null` is how the live API says a backend has none.
    many = tuple[Characterization, ...]
    register(many, _array(converter, many, null=()))
    page = CharacterizationPage
    register(page, _object_hook(converter, page, shapes[page]))
    converter.register_unstructure_hook(datetime, iso_z)
    return converter


def _as_is(value: Any, _type: Any) -> Any:
    # What the wrapper supplies is taken as given: cattrs' own hook for `Mapping[str, Any]`
    # would copy `extra` (2.5k instructions a backend).
    return value


def _array(converter: cattrs.Converter, t: Any, what: str = "array", *, null: Any = None) -> Hook:
    """cattrs' own list or tuple hook, for a JSON array only (it would iterate a string);
    `null` is what a JSON null reads as, if anything."""
    base = converter.get_structure_hook(t)

    def structure(value: Any, _type: Any) -> Any:
        if type(value) is list:
            return base(value, t)
        if value is None and null is not None:
            return null
        return fail(what, value)

    return structure


def _fidelities(stat: Hook) -> Hook:
    """`{"1q": {...}, "2q": {...}}`: every key kept, a null statistic skipped."""

    def structure(value: Any, _type: Any) -> dict[str, FidelityStat]:
        if value is None:
            return {}
        if type(value) is not dict:
            fail("object", value)
        found: dict[str, FidelityStat] = {}
        problems: Problems = []
        for name, item in value.items():
            if item is not None:
                try:
                    found[name] = stat(item, FidelityStat)
                except Invalid as invalid:
                    problems.extend((key(name) + path, m) for path, m in invalid.problems)
        if problems:
            raise Invalid(problems)
        return found

    return structure


class _Variant(NamedTuple):
    """One generated function and what it reads."""

    generated: Hook
    renames: Mapping[str, str]  # field -> wire key, for the paths of its problems
    context: Mapping[str, Any]
    defaults: Mapping[str, Any]  # by wire key


def _object_hook(converter: cattrs.Converter, cls: type, shape: Shape) -> Hook:
    """cattrs' generated function for `cls`, handed what the wire object does not carry."""
    fields = attrs.fields_dict(cls)
    supplied = {name: override(struct_hook=_as_is) for name in shape.context}
    if "extra" in fields:
        supplied["extra"] = override(struct_hook=_as_is)
    overrides = {**shape.overrides, **supplied}

    def variant(overrides: Mapping[str, Any], context: Mapping[str, Any]) -> _Variant:
        renames = {name: o.rename for name, o in overrides.items() if o.rename}
        defaults = {renames.get(f, f): v for f, v in shape.defaults.items()}
        generated: Hook = make_dict_structure_fn(cls, converter, **overrides)
        return _Variant(generated, renames, context, defaults)

    main = variant(overrides, shape.context)
    omitted = {name for name, o in overrides.items() if o.omit}
    known = {main.renames.get(f, f) for f in fields if f not in supplied and f not in omitted}
    alias, other = shape.alias, main
    if alias is not None:
        moved = override(rename=alias.other, struct_hook=alias.hook)
        other = variant({**overrides, alias.field: moved}, {**shape.context, **alias.context})
        known.add(alias.other)
    keys = frozenset(known)
    what, strict, null_is_empty = shape.what, converter.forbid_extra_keys, shape.null_is_empty
    has_extra = "extra" in supplied
    # Fields a bad value may cost alone (lenient): the optional leaves (`float | None`, ...).
    # A required field, or an object or array of them, still fails the object.
    droppable = {
        f.name for f in attrs.fields(cls)
        if f.name not in supplied and getattr(f.type, "__args__", ())[-1:] == (type(None),)
    }  # fmt: skip

    def structure(obj: Any, _type: Any = cls) -> Any:
        if type(obj) is not dict:
            if obj is None and null_is_empty:
                obj = {}
            else:
                fail(what, obj)
        chosen, both = main, False
        if alias is not None and alias.other in obj:
            both = alias.key in obj
            chosen = main if both else other
        view = {**chosen.defaults, **obj, **chosen.context}
        found: Problems = []
        if keys.issuperset(obj):  # the usual object: every key known
            extra = {}
        elif not strict:
            extra = {k: v for k, v in obj.items() if k not in keys}
        else:  # cattrs reports an unknown key, but not one named like a field supplied here
            found = [(key(k), "unknown field") for k in obj if k in supplied]
            extra = {}
        if both:
            extra[alias.other] = view.pop(alias.other)  # type: ignore[union-attr]
        if has_extra:
            view["extra"] = extra
        try:
            made = chosen.generated(view, cls)
        except BaseValidationError as exc:
            failed = _failed_fields(exc)
            if strict or not has_extra or failed is None or not failed <= droppable:
                raise Invalid(found + problems(exc, chosen.renames)) from None
            # One bad field costs only that field: read as absent, its value kept in `extra`.
            for name in failed:
                wire = chosen.renames.get(name, name)
                extra[wire] = view.pop(wire)
                if wire in chosen.defaults:  # a field the model needs, the wire may leave out
                    view[wire] = chosen.defaults[wire]
            label = obj.get("backend") if isinstance(obj.get("backend"), str) else None
            said = "; ".join(f"{p}: {m}" for p, m in problems(exc, chosen.renames))
            logger.warning("ignored an unreadable field of %s%s (kept in extra): %s",
                           what, f" {label!r}" if label else "", said)  # fmt: skip
            made = chosen.generated(view, cls)
        if found:
            raise Invalid(found)
        return made

    return structure


def _failed_fields(exc: BaseValidationError) -> set[str] | None:
    """The fields whose values failed, or `None` if a failure is not one field's."""
    failed = set()
    for sub in exc.exceptions:
        notes = [n for n in getattr(sub, "__notes__", ()) if isinstance(n, AttributeValidationNote)]
        if not notes or isinstance(sub, KeyError):  # a required key missing is the object's
            return None
        failed.add(notes[-1].name)
    return failed


def problems(exc: BaseException, renames: Mapping[str, str] | None = None) -> Problems:
    """cattrs' detailed validation as (JSON path, message) pairs, the paths in wire keys.

    As cattrs' `transform_error` walks it: an attribute note names a field (`renames` gives its
    wire key), an iterable's note an index.
    """
    if isinstance(exc, Invalid):
        return list(exc.problems)
    if isinstance(exc, ForbiddenExtraKeysError):
        return [(key(name), "unknown field") for name in sorted(exc.extra_fields)]
    if isinstance(exc, KeyError):  # cattrs' generated code reads a required key
        return [("", "required field missing")]
    if not isinstance(exc, BaseValidationError):
        return [("", f"{type(exc).__name__}: {exc}")]
    found: Problems = []
    for sub in exc.exceptions:
        step = ""
        for note in getattr(sub, "__notes__", ()):
            if isinstance(note, AttributeValidationNote):
                step = key((renames or {}).get(note.name, note.name))
            elif isinstance(note, IterableValidationNote):
                step = f"[{note.index}]"
        found.extend((step + path, message) for path, message in problems(sub))
    return found
