"""argparse types for the command line and `serve` (pure): each refuses with a message that names
the value and what was expected, never an internal function's name."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from . import _params
from ._humanize import printable

__all__ = ["integer", "non_negative", "port", "positive"]


def _number(text: str, low: float, inclusive: bool) -> float:
    try:
        return _params.finite("value", float(text), low=low, inclusive=inclusive)
    except ValueError:
        bound = f">= {low:g}" if inclusive else f"> {low:g}"
        raise argparse.ArgumentTypeError(
            f"expected a finite number {bound}, got {printable(text)!r}"
        ) from None


def positive(text: str) -> float:
    """Seconds, hours, ...: a finite number above zero."""
    return _number(text, 0.0, inclusive=False)


def non_negative(text: str) -> float:
    return _number(text, 0.0, inclusive=True)


def integer(low: int, high: int | None = None) -> Callable[[str], int]:
    """An integer in `[low, high]`."""

    def parse(text: str) -> int:
        try:
            return _params.integer("value", int(text), low=low, high=high)
        except ValueError:
            bound = f">= {low}" if high is None else f"{low} to {high}"
            raise argparse.ArgumentTypeError(
                f"expected an integer {bound}, got {printable(text)!r}"
            ) from None

    return parse


port = integer(0, 65535)
