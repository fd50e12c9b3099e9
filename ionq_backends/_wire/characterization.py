"""Leaf parsers of a characterization's nested objects: fidelities and timings (pure)."""

from __future__ import annotations

from typing import Any

from .._models import FidelityStat, Timing
from .parse import Invalid, Parser, Problems, Table, each, fail, key, number, walk

__all__ = ["fidelity", "timing"]


def fidelity(statistic: str, strict: bool) -> Parser:
    """`{"1q": {statistic: x, "stderr": y}, ...}`; the other statistic is read when it is alone,
    and kept in `extra` when both come."""
    other = "median" if statistic == "mean" else "mean"

    def parse_stat(value: Any) -> FidelityStat:
        if type(value) is not dict:
            fail("object", value)
        problems: Problems = []
        if strict:
            problems.extend(
                (key(k), "unknown field") for k in value if k not in (statistic, other, "stderr")
            )
        used = statistic if statistic in value or other not in value else other
        parsed: dict[str, float | None] = {}
        for name in (used, "stderr"):
            raw = value.get(name)
            try:
                parsed[name] = None if raw is None else number(raw)
            except Invalid as invalid:
                problems.extend((key(name) + sub, m) for sub, m in invalid.problems)
        if problems:
            raise Invalid(problems)
        extra = {k: v for k, v in value.items() if k not in (used, "stderr")}
        return FidelityStat(parsed[used], parsed["stderr"], used, extra)

    def parse(value: Any) -> dict[str, FidelityStat]:
        if type(value) is not dict:
            fail("object", value)
        names = [name for name, stat in value.items() if stat is not None]
        return dict(zip(names, each(((key(k), value[k]) for k in names), parse_stat), strict=True))

    return parse


TIMING = Table(
    {
        "t1": ("t1", number),
        "t2": ("t2", number),
        "1q": ("one_qubit", number),
        "2q": ("two_qubit", number),
        "readout": ("readout", number),
        "reset": ("reset", number),
    }
)


def timing(strict: bool) -> Parser:
    def parse(value: Any) -> Timing:
        kwargs, extra = walk(value, TIMING, strict, "object")
        return Timing(**kwargs, extra=extra)

    return parse
