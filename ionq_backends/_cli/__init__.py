"""The `ionq-backends` command: the fleet at a glance, for people (tables) and scripts (--json).

`commands` talks to the API; `format` turns values into text and is tested without a terminal.
Each subcommand's parser offers only the options that mean something for it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from .. import _argtypes as args
from .._argtypes import check_api_options
from .._constants import DEFAULT_WATCH_INTERVAL, LOCAL_HOST, LOCAL_PORT, MAX_PAGE_SIZE, VERSION
from .._errors import IonQError
from .._logging import enable as enable_logging
from .._signals import run_loop
from ..service import cli as serve_cli
from . import fleet
from .commands import COMMANDS, PROG, Abort, Output, Usage, report
from .format import printable

__all__ = ["main", "parser"]


def parser() -> argparse.ArgumentParser:
    """The whole command line: one subparser per command, each with its own options."""

    def api_options(timeout_help: str) -> argparse.ArgumentParser:
        api = argparse.ArgumentParser(add_help=False)
        args.add_api_options(api, timeout_help=timeout_help)
        api.add_argument(
            "-v", "--verbose", action="count", default=0,
            help="log lines on stderr: -v for retries, -vv for every request",
        )  # fmt: skip
        return api

    api = api_options(args.COMMAND_TIMEOUT)
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument("--verbose-status", action="store_true",
                         help="v0.3 only: running/reserved/calibrating/offline")  # fmt: skip

    top = argparse.ArgumentParser(
        prog=PROG,
        description="IonQ backends at a glance. The API key is read from $IONQ_API_KEY.",
        formatter_class=args.HelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    both = [api, output]

    def command(name: str, text: str, parents: list[argparse.ArgumentParser]) -> Any:
        return sub.add_parser(name, parents=parents, help=text, description=text,
                              formatter_class=args.HelpFormatter)  # fmt: skip

    listing = command("list", "the whole fleet, one request", [*both, verbose])
    fleet.add_list_options(listing)
    get = command("get", "named backends, fetched concurrently", [*both, verbose])
    get.add_argument("names", nargs="+", type=args.backend_name, metavar="NAME",
                     help="backend names")  # fmt: skip
    watch = command("watch", "one line per change, until Ctrl-C", [*both, verbose])
    watch.add_argument("names", nargs="*", type=args.backend_name, metavar="NAME",
                       help="backends to watch (default: the whole fleet)")  # fmt: skip
    watch.add_argument("--interval", type=args.positive, default=DEFAULT_WATCH_INTERVAL,
                       metavar="SECONDS", help="start to start, jittered ±10%%")  # fmt: skip
    chars = command("characterizations", "recent characterizations: age, error rates", both)
    chars.add_argument("name", type=args.backend_name, metavar="NAME", help="backend name")
    chars.add_argument("--limit", type=args.integer(1), default=MAX_PAGE_SIZE, metavar="N",
                       help="how many, newest first")  # fmt: skip
    fleet.add_best_parser(sub, both)
    serve = command("serve", "fleet monitor: live page, /metrics, history (extra: service)",
                    [api_options(args.REQUEST_TIMEOUT), output])  # fmt: skip
    serve_cli.add_arguments(serve, common=False)
    emu = command("emulator", "serve an IonQ API emulator until Ctrl-C", [output])
    emu.add_argument("--host", default=LOCAL_HOST, help="loopback only")
    emu.add_argument("--port", type=args.port, default=LOCAL_PORT, help="0 picks a free port")
    emu.add_argument("--latency", type=args.non_negative, default=0.0, metavar="SECONDS",
                     help="added to every answer")  # fmt: skip
    args.add_scenario_options(emu)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 API or network error, 2 usage)."""
    args = parser().parse_args(argv)
    if getattr(args, "verbose", 0):
        enable_logging(logging.DEBUG if args.verbose > 1 else logging.INFO)
    if args.command == "serve":  # it runs its own event loop and signal handling
        return serve_cli.run(args)
    out = Output(args.json)
    try:
        check_api_options(args)
        return run_loop(COMMANDS[args.command](args, out))
    except KeyboardInterrupt:  # Ctrl-C, for every command: the shell's 128 + SIGINT
        return 130
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
