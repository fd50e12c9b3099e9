"""`ionq-backends serve`: run the fleet monitor until SIGINT or SIGTERM.

This module imports only the standard library and the core SDK, so that the command can say
which extra is missing. To wire it into a parent argparse CLI:

    serve = subparsers.add_parser("serve", parents=[common], help="...")
    add_arguments(serve, common=False)   # the parent already adds --api-version and the like
    ...
    return run(args)                     # the exit status

Standalone: `python -m ionq_backends.service --emulator`, or `main(argv)`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from .. import _argtypes
from .._constants import LOCAL_HOST, LOCAL_PORT
from .._logging import enable as enable_logging
from .._signals import Stop, run_loop
from .._urls import is_loopback
from ._constants import (
    DEFAULT_DB_PATH,
    DEFAULT_INTERVAL,
    DEFAULT_RETENTION,
    EXTRA,
    LOGGER_NAME,
    MIN_LIVE_INTERVAL,
    SHUTDOWN_TIMEOUT,
)
from ._durations import parse_duration, parse_interval

__all__ = ["add_arguments", "main", "run"]

PROG = "ionq-backends serve"
# The modules of the `service` extra; an ImportError naming any other is a bug, not a missing extra.
_EXTRA_MODULES = frozenset({"prometheus_client", "aiohttp_sse"})


def _argtype(parse: Any, what: str) -> Any:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = what  # argparse names the type in its error message
    return convert


def add_arguments(parser: argparse.ArgumentParser, *, common: bool = True) -> None:
    """Add serve's options to `parser`; `common=False` leaves out --api-version, --base-url,
    --emulator and --timeout, for a parent CLI whose shared options already hold them."""
    if common:
        _argtypes.add_api_options(parser, timeout_help=_argtypes.REQUEST_TIMEOUT)
    parser.add_argument(
        "names",
        nargs="*",
        type=_argtypes.backend_name,
        metavar="NAME",
        help="backends to watch (default: every backend the API lists, plus the known names)",
    )
    parser.add_argument(
        "--db",
        default=DEFAULT_DB_PATH,
        metavar="PATH",
        help="SQLite history file, created if missing (default: %(default)s)",
    )
    parser.add_argument(
        "--host",
        default=LOCAL_HOST,
        help="address to listen on (default: %(default)s; the page has no authentication)",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a Host name to answer besides loopback names and the listening address, such as "
        "a reverse proxy's public name (repeatable; anything else gets a 421)",
    )
    parser.add_argument(
        "--port",
        type=_argtypes.port,
        default=LOCAL_PORT,
        help="port, 0 for any free one (default: %(default)s)",
    )
    parser.add_argument(
        "--interval",
        type=_argtype(parse_interval, "interval"),
        default=DEFAULT_INTERVAL,
        metavar="SECONDS",
        help="seconds between polling rounds, or a duration such as 1m (default: %(default)s)",
    )
    parser.add_argument(
        "--retention",
        type=_argtype(parse_duration, "duration"),
        default=DEFAULT_RETENTION,
        metavar="DURATION",
        help="how long history is kept, e.g. 30d, 12h (default: %(default)s)",
    )
    parser.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        default="info",
        help="log lines on stderr (default: %(default)s)",
    )
    _argtypes.add_scenario_options(parser)


def _say(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; the exit status (0 ok, 1 cannot run, 2 usage)."""
    try:
        from ._app import create_app
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in _EXTRA_MODULES:
            raise
        _say(f"error: needs the {EXTRA} extra ({exc.name} is missing): pip install '{EXTRA}'")
        return 1
    try:
        _argtypes.check_api_options(args)
    except ValueError as exc:
        _say(f"error: {exc}")
        return 2
    level = logging.getLevelName(args.log_level.upper())
    # One handler, the package's own (-v and IONQ_LOG add no other): each line once.
    enable_logging(level)
    logging.getLogger(LOGGER_NAME).setLevel(level)
    retention = args.retention
    if isinstance(retention, str):  # the default, not passed through `type`
        retention = parse_duration(retention)
    if not args.emulator and args.interval < MIN_LIVE_INTERVAL:
        _say(f"warning: an interval under {MIN_LIVE_INTERVAL:g} s may hit IonQ's rate limits")
    if not is_loopback(args.host):
        _say(f"warning: listening on {args.host}: the page and API have no authentication")
    try:
        return run_loop(_serve(args, create_app, retention))
    except KeyboardInterrupt:  # before the signal handlers were in place
        return 130
    except _Usage as exc:
        _say(f"error: {exc}")
        return 2
    except _Fatal as exc:
        _say(f"error: {exc}")
        return 1


class _Usage(Exception):
    """A usage error found after parsing."""


class _Fatal(Exception):
    """The monitor cannot run (history file, address in use)."""


async def _serve(args: argparse.Namespace, create_app: Any, retention: float) -> int:
    from aiohttp import web

    from ..emulator import Emulator
    from ._store import HistoryError

    stop = Stop()
    stop.install()
    async with contextlib.AsyncExitStack() as stack:
        base_url = args.base_url
        if args.emulator:
            emulator = Emulator(scenario=args.scenario, speed=args.speed)
            base_url = (await stack.enter_async_context(emulator)).base_url
        try:
            app = create_app(
                base_url=base_url,
                api_version=args.api_version,
                timeout=args.timeout,
                db_path=args.db,
                interval=args.interval,
                names=args.names or None,
                retention=retention,
                allowed_hosts=args.allowed_host,
            )
        except ValueError as exc:
            raise _Usage(str(exc)) from None
        runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
        try:
            await runner.setup()  # runs the app's startup: opens the history, starts polling
        except HistoryError as exc:
            raise _Fatal(f"history: {exc}") from None
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, args.host, args.port)
        try:
            await site.start()
        except OSError as exc:
            raise _Fatal(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
        host, port = runner.addresses[0][:2]
        url = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
        if getattr(args, "json", False):
            print(json.dumps({"url": url, "db": str(args.db)}), flush=True)
        else:
            print(f"{PROG}: {url} (history {args.db}, every {args.interval:g} s)", flush=True)
        return await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ionq_backends.service [options]`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        formatter_class=_argtypes.HelpFormatter,
        description="A fleet monitor: a live page, Prometheus metrics, JSON and a history. "
        "The API key is read from $IONQ_API_KEY.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
