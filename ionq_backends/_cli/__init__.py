"""The `ionq-backends` command: the fleet at a glance, for people (tables) and scripts (--json).

`commands` talks to the API; `format` turns values into text and is tested without a terminal.
Each subcommand's parser offers only the options that mean something for it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from .. import _params
from .._constants import (
    DEFAULT_API_VERSION,
    DEFAULT_TIMEOUT,
    DEFAULT_WATCH_INTERVAL,
    EMULATOR_HOST,
    EMULATOR_PORT,
    MAX_PAGE_SIZE,
)
from .._errors import IonQError
from .._wire import PROFILES
from ..service import cli as serve_cli
from . import fleet
from .commands import COMMANDS, PROG, Abort, Output, Usage, report
from .format import printable

__all__ = ["main", "parser"]


def parser() -> argparse.ArgumentParser:
    """The whole command line: one subparser per command, each with its own options."""
    api = argparse.ArgumentParser(add_help=False)
    api.add_argument("--api-version", choices=tuple(PROFILES), default=DEFAULT_API_VERSION)
    api.add_argument("--base-url", help="API host (default: $IONQ_BASE_URL, else IonQ)")
    api.add_argument("--emulator", action="store_true", help="run against an in-process emulator")
    api.add_argument("--timeout", type=_positive, default=DEFAULT_TIMEOUT, metavar="SECONDS")
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="machine-readable output on stdout")

    top = argparse.ArgumentParser(
        prog=PROG,
        description="IonQ backends at a glance. The API key is read from $IONQ_API_KEY.",
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    both = [api, output]
    fleet.add_list_options(sub.add_parser("list", parents=both, help="all backends, one request"))
    get = sub.add_parser("get", parents=both, help="named backends, fetched concurrently")
    get.add_argument("names", nargs="+", metavar="NAME")
    watch = sub.add_parser("watch", parents=both, help="one line per change, until Ctrl-C")
    watch.add_argument("names", nargs="*", metavar="NAME")
    watch.add_argument("--interval", type=_positive, default=DEFAULT_WATCH_INTERVAL)
    chars = sub.add_parser("characterizations", parents=both, help="recent characterizations")
    chars.add_argument("name", metavar="NAME")
    chars.add_argument("--limit", type=_positive_int, default=MAX_PAGE_SIZE, metavar="N")
    fleet.add_best_parser(sub, both)
    serve = sub.add_parser(
        "serve", parents=both, help="fleet monitor: live page, /metrics, history (extra: service)"
    )
    serve_cli.add_arguments(serve, common=False)
    emu = sub.add_parser("emulator", parents=[output], help="serve an IonQ API emulator")
    emu.add_argument("--host", default=EMULATOR_HOST)
    emu.add_argument("--port", type=_port, default=EMULATOR_PORT)
    emu.add_argument("--latency", type=_non_negative, default=0.0, metavar="SECONDS")
    return top


def _number(text: str, low: float, inclusive: bool) -> float:
    try:
        return _params.finite("value", float(text), low=low, inclusive=inclusive)
    except ValueError:
        bound = f">= {low:g}" if inclusive else f"> {low:g}"
        raise argparse.ArgumentTypeError(
            f"expected a finite number {bound}, got {printable(text)!r}"
        ) from None


def _positive(text: str) -> float:
    return _number(text, 0.0, inclusive=False)


def _non_negative(text: str) -> float:
    return _number(text, 0.0, inclusive=True)


def _integer(text: str, low: int, high: int | None) -> int:
    try:
        return _params.integer("value", int(text), low=low, high=high)
    except ValueError:
        bound = f">= {low}" if high is None else f"{low} to {high}"
        raise argparse.ArgumentTypeError(
            f"expected an integer {bound}, got {printable(text)!r}"
        ) from None


def _positive_int(text: str) -> int:
    return _integer(text, 1, None)


def _port(text: str) -> int:
    return _integer(text, 0, 65535)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 API or network error, 2 usage)."""
    args = parser().parse_args(argv)
    if args.command == "serve":  # it runs its own event loop and signal handling
        return serve_cli.run(args)
    out = Output(args.json)
    try:
        return asyncio.run(COMMANDS[args.command](args, out))
    except KeyboardInterrupt:
        return 0 if args.command in ("watch", "emulator") else 130
    except (Usage, ValueError, TypeError) as exc:  # a caller's mistake, found before any request
        _say(f"error: {exc}")
        return 2
    except Abort:
        return 1
    except IonQError as exc:
        report(exc)
        return 1
    except BrokenPipeError:  # `ionq-backends list | head`
        return 0
    except OSError as exc:  # a port in use, a host that cannot be bound
        _say(f"error: {exc.strerror or exc}")
        return 1
    except Exception as exc:  # never a traceback: one line that says what broke
        _say(f"error: unexpected {type(exc).__name__}: {exc}")
        return 1


def _say(text: str) -> None:
    print(printable(f"{PROG}: {text}"), file=sys.stderr, flush=True)
