"""argparse types and the options shared by every command and `serve` (pure): each type refuses
with a message that names the value and what was expected, never an internal function's name."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from . import _params
from ._constants import DEFAULT_API_VERSION, DEFAULT_SCENARIO_SPEED, DEFAULT_TIMEOUT
from ._humanize import printable
from ._urls import is_loopback, segment
from ._wire import PROFILES

__all__ = ["COMMAND_TIMEOUT", "REQUEST_TIMEOUT", "HelpFormatter", "add_api_options",
           "add_scenario_options", "backend_name", "check_api_options", "integer",
           "non_negative", "port", "positive"]  # fmt: skip

# What `--timeout` bounds: a command of the CLI as a whole; each attempt of `serve`'s requests.
COMMAND_TIMEOUT = "bounds the whole command, retries included"
REQUEST_TIMEOUT = "bounds each attempt of each request to the API; a round's retries come on top"


class HelpFormatter(argparse.HelpFormatter):
    """Each option's default, once: added where it says something (not `None`, not a flag's
    `False`), unless the option's help already names its default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        quiet = action.default in (None, False, argparse.SUPPRESS) or not action.option_strings
        return text if quiet or "default" in text else f"{text} (default: %(default)s)"


def add_scenario_options(parser: argparse.ArgumentParser) -> None:
    """--scenario and --speed: the emulator plays a fleet's day."""
    from .emulator import SCENARIOS

    parser.add_argument("--scenario", choices=tuple(SCENARIOS),
                        help="the emulator plays it: queues that swing, calibrations, an "
                        "outage and its recovery, a degraded spell, a retired QPU")  # fmt: skip
    parser.add_argument("--speed", type=positive, default=DEFAULT_SCENARIO_SPEED,
                        metavar="FACTOR", help="scenario seconds per real second")  # fmt: skip


def check_api_options(args: argparse.Namespace) -> None:
    """The usage errors argparse cannot see: options that contradict each other."""
    if getattr(args, "emulator", False) and args.base_url:
        raise ValueError("--base-url and --emulator contradict each other: give one")
    if getattr(args, "scenario", None) and not getattr(args, "emulator", True):
        raise ValueError("--scenario plays on the emulator: add --emulator")
    if getattr(args, "verbose_status", False) and not PROFILES[args.api_version].verbose_status:
        raise ValueError(f"--verbose-status does not exist in API {args.api_version}: "
                         "add --api-version v0.3")  # fmt: skip
    host = getattr(args, "host", None)
    if getattr(args, "command", None) == "emulator" and host is not None and not is_loopback(host):
        raise ValueError(f"--host {host}: the emulator listens on loopback addresses only")


def add_api_options(parser: argparse.ArgumentParser, *, timeout_help: str) -> None:
    """--api-version, --base-url, --emulator and --timeout, as every command and `serve` have."""
    parser.add_argument("--api-version", choices=tuple(PROFILES), default=DEFAULT_API_VERSION,
                        help="IonQ API version")  # fmt: skip
    parser.add_argument("--base-url", help="API host (default: $IONQ_BASE_URL, else IonQ's)")
    parser.add_argument("--emulator", action="store_true",
                        help="run against an in-process IonQ API emulator")  # fmt: skip
    parser.add_argument("--timeout", type=positive, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=timeout_help)  # fmt: skip


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


def backend_name(text: str) -> str:
    """A name typed on the command line: one a path can carry (a fan-out of names from the API
    would make it that name's error; typed by hand, it is a usage error)."""
    try:
        segment(text, "backend name")
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a backend name, got {printable(text)!r}"
        ) from None
    return text
