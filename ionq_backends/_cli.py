"""The `ionq-backends` command: the fleet at a glance, for people (tables) and scripts (--json)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

import aiohttp
import cattrs

from ._client import IonQClient
from ._constants import API_VERSIONS, DEFAULT_API_VERSION, DEFAULT_TIMEOUT, DEFAULT_WATCH_INTERVAL
from ._errors import APIStatusError, IonQError
from ._models import Backend, BackendChange, BackendStatus, Characterization
from ._transport import make_timeout

PROG = "ionq-backends"
_JSON = cattrs.Converter()
_JSON.register_unstructure_hook(datetime, lambda d: d.isoformat().replace("+00:00", "Z"))
_COLOURS = {
    BackendStatus.AVAILABLE: "32",
    BackendStatus.RUNNING: "32",
    BackendStatus.RESERVED: "33",
    BackendStatus.CALIBRATING: "33",
    BackendStatus.UNAVAILABLE: "31",
    BackendStatus.OFFLINE: "31",
    BackendStatus.RETIRED: "2",
}


class _Abort(Exception):
    """Ends a command with exit status 1 after its message is printed."""


# Formatting (pure)


def human_duration(value: timedelta | None) -> str:
    """`3h 23m`, `19m 41s`, `12s`; `-` when unknown."""
    if value is None:
        return "-"
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def relative(moment: datetime | None, now: datetime) -> str:
    """`5 min ago`, `3 h ago`; `-` when unknown."""
    if moment is None:
        return "-"
    seconds = (now - moment).total_seconds()
    ahead = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        text = f"{int(seconds)} s"
    elif seconds < 3600:
        text = f"{int(seconds // 60)} min"
    elif seconds < 86400:
        text = f"{int(seconds // 3600)} h"
    else:
        text = f"{int(seconds // 86400)} d"
    return f"in {text}" if ahead else f"{text} ago"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], colour: dict[int, Any]) -> str:
    """Left-aligned columns (numbers right-aligned); `colour[i]` maps cell text to an SGR code."""
    rows = [list(r) for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    numeric = [all(r[i].replace(".", "").isdigit() or r[i] == "-" for r in rows) and rows
               for i in range(len(headers))]  # fmt: skip
    lines = []
    for cells in [list(headers), *rows]:
        out = []
        for i, cell in enumerate(cells):
            padded = cell.rjust(widths[i]) if numeric[i] else cell.ljust(widths[i])
            code = colour.get(i, {}).get(cell) if cells is not headers else None
            out.append(f"\x1b[{code}m{padded}\x1b[0m" if code else padded)
        lines.append("  ".join(out).rstrip())
    return "\n".join(lines)


def backend_rows(backends: Iterable[Backend], now: datetime) -> list[list[str]]:
    return [
        [
            b.name,
            str(b.status),
            "-" if b.qubits is None else str(b.qubits),
            human_duration(b.queue_time),
            relative(b.last_updated, now),
            {True: "yes", False: "no", None: "-"}[b.degraded],
        ]
        for b in backends
    ]


BACKEND_HEADERS = ("NAME", "STATUS", "QUBITS", "QUEUE", "UPDATED", "DEGRADED")


def error_json(error: IonQError) -> dict[str, Any]:
    data: dict[str, Any] = {"type": type(error).__name__, "message": error.message}
    if isinstance(error, APIStatusError):
        data |= {"status_code": error.status_code, "request_id": error.request_id}
    return data


# Running


class _Output:
    def __init__(self, as_json: bool, stream: TextIO = sys.stdout) -> None:
        self.json = as_json
        self.stream = stream
        self.colour = stream.isatty() and "NO_COLOR" not in os.environ

    def print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def dump(self, data: Any) -> None:
        self.print(json.dumps(_JSON.unstructure(data), indent=2))

    def backends(self, backends: list[Backend]) -> None:
        if self.json:
            self.dump(backends)
            return
        colour = {1: _COLOURS} if self.colour else {}
        self.print(table(BACKEND_HEADERS, backend_rows(backends, datetime.now(UTC)), colour))


def _fail(error: IonQError, backend: str | None = None) -> None:
    prefix = f"{PROG}: {backend}: " if backend else f"{PROG}: error: "
    print(prefix + str(error), file=sys.stderr, flush=True)


@asynccontextmanager
async def _client(
    args: argparse.Namespace, traces: Sequence[aiohttp.TraceConfig] = ()
) -> AsyncIterator[IonQClient]:
    async with AsyncExitStack() as stack:
        base_url = args.base_url
        if args.emulator:
            from .emulator import Emulator

            base_url = (await stack.enter_async_context(Emulator())).base_url
        session = None
        if traces:  # our own session, so that aiohttp reports each request's end to us
            session = await stack.enter_async_context(
                aiohttp.ClientSession(trace_configs=list(traces))
            )
        yield await stack.enter_async_context(_make_client(args, base_url, session))


class _Progress:
    """`fetched k/N` on stderr, counted from aiohttp's end-of-request trace."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.trace = aiohttp.TraceConfig()
        self.trace.on_request_end.append(self._tick)
        self.trace.on_request_exception.append(self._tick)

    async def _tick(self, *_: object) -> None:
        self.done = min(self.total, self.done + 1)  # a retried request counts once
        print(f"\rfetched {self.done}/{self.total}", end="", file=sys.stderr, flush=True)

    def clear(self) -> None:
        print("\r\x1b[K", end="", file=sys.stderr, flush=True)


def _make_client(
    args: argparse.Namespace, base_url: str | None, session: aiohttp.ClientSession | None
) -> IonQClient:
    try:
        return IonQClient(
            base_url=base_url,
            api_version=args.api_version,
            timeout=make_timeout(args.timeout),
            session=session,
        )
    except ValueError as exc:
        raise _Usage(str(exc)) from None


class _Usage(Exception):
    """A usage error found after parsing (exit status 2)."""


async def _bounded(args: argparse.Namespace, coro: Any) -> Any:
    """The whole command, retries included, ends within --timeout."""
    try:
        async with asyncio.timeout(args.timeout):
            return await coro
    except TimeoutError:
        where = "the embedded emulator" if args.emulator else (args.base_url or "the IonQ API")
        print(f"{PROG}: error: timed out after {args.timeout:g}s waiting for {where}",
              file=sys.stderr, flush=True)  # fmt: skip
        raise _Abort from None


async def cmd_list(args: argparse.Namespace, out: _Output) -> int:
    from . import _fleet_cli

    async with _client(args) as client:
        backends = await _bounded(args, client.list_backends())
    out.backends(_fleet_cli.filter_list(backends, args))
    return 0


async def cmd_get(args: argparse.Namespace, out: _Output) -> int:
    progress = _Progress(len(args.names)) if sys.stderr.isatty() and len(args.names) > 1 else None
    async with _client(args, [progress.trace] if progress else []) as client:
        snapshot = await _bounded(args, client.get_backends(args.names))
    if progress:
        progress.clear()
    out.backends(list(snapshot.values()))
    for name, error in snapshot.errors.items():
        _fail(error, name)
    return 1 if snapshot.errors else 0


async def cmd_characterizations(args: argparse.Namespace, out: _Output) -> int:
    async with _client(args) as client:

        async def collect() -> list[Characterization]:
            found: list[Characterization] = []
            pages = client.iter_characterizations(args.name, page_size=min(args.limit, 10))
            async for item in pages:
                found.append(item)
                if len(found) == args.limit:
                    break
            await pages.aclose()
            return found

        items = await _bounded(args, collect())
    from . import _fleet_cli

    now = datetime.now(UTC)
    if out.json:
        out.dump([_JSON.unstructure(c) | _fleet_cli.characterization_extras(c, now) for c in items])
        return 0
    text = _fleet_cli.characterization_table(items, now)
    out.print(text if items else f"no characterizations for {args.name}")
    return 0


async def cmd_best(args: argparse.Namespace, out: _Output) -> int:
    from . import _fleet_cli

    try:
        circuit = _fleet_cli.circuit_of(args)
    except ValueError as exc:
        raise _Usage(str(exc)) from None
    async with _client(args) as client:
        ranked, errors = await _bounded(args, _fleet_cli.run_best(args, client, circuit))
    now = datetime.now(UTC)
    out.print(_fleet_cli.best_json(ranked) if out.json else _fleet_cli.best_table(ranked, now))
    for name, error in errors.items():
        _fail(error, name)
    return 1 if errors else 0


def describe_change(event: BackendChange, now: datetime) -> str:
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if event.error is not None:
        return f"{stamp}  {event.name}  ERROR  {event.error}"
    current = event.current
    assert current is not None
    if event.previous is None:
        qubits = "-" if current.qubits is None else current.qubits
        return (f"{stamp}  {event.name}  {current.status}  qubits={qubits}  "
                f"queue={human_duration(current.queue_time)}")  # fmt: skip
    if not event.changed_fields:
        return f"{stamp}  {event.name}  recovered  {current.status}"
    parts = [
        f"{name}: {getattr(event.previous, name)} -> {getattr(current, name)}"
        for name in event.changed_fields
    ]
    return f"{stamp}  {event.name}  " + "; ".join(parts)


async def cmd_watch(args: argparse.Namespace, out: _Output) -> int:
    async with _client(args) as client:
        async for event in client.watch(args.names or None, interval=args.interval):
            now = datetime.now(UTC)
            if out.json:
                record = {
                    "time": now,
                    "name": event.name,
                    "previous": event.previous,
                    "current": event.current,
                    "error": None if event.error is None else error_json(event.error),
                    "changed_fields": list(event.changed_fields),
                }
                out.print(json.dumps(_JSON.unstructure(record)))
            else:
                out.print(describe_change(event, now))
    return 0  # pragma: no cover - watch ends only by Ctrl-C


async def cmd_emulator(args: argparse.Namespace, out: _Output) -> int:
    from .emulator import Emulator

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with Emulator(host=args.host, port=args.port, latency=args.latency) as emulator:
            if out.json:
                out.print(json.dumps({"base_url": emulator.base_url}))
            else:
                out.print(f"IonQ API emulator (v0.3 and v0.4) listening on {emulator.base_url}")
            await stop.wait()
    except ValueError as exc:
        raise _Usage(str(exc)) from None
    return 0


def parser() -> argparse.ArgumentParser:
    from . import _fleet_cli

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--api-version", choices=API_VERSIONS, default=DEFAULT_API_VERSION)
    common.add_argument("--base-url", help="API host (default: $IONQ_BASE_URL, else IonQ)")
    common.add_argument(
        "--emulator", action="store_true", help="run against an in-process emulator"
    )
    common.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    common.add_argument("--timeout", type=_positive, default=DEFAULT_TIMEOUT, metavar="SECONDS")

    top = argparse.ArgumentParser(
        prog=PROG,
        description="IonQ backends at a glance. The API key is read from $IONQ_API_KEY.",
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _fleet_cli.add_list_options(
        sub.add_parser("list", parents=[common], help="all backends, one request")
    )
    get = sub.add_parser("get", parents=[common], help="named backends, fetched concurrently")
    get.add_argument("names", nargs="+", metavar="NAME")
    watch = sub.add_parser("watch", parents=[common], help="one line per change, until Ctrl-C")
    watch.add_argument("names", nargs="*", metavar="NAME")
    watch.add_argument("--interval", type=_positive, default=DEFAULT_WATCH_INTERVAL)
    chars = sub.add_parser("characterizations", parents=[common], help="recent characterizations")
    chars.add_argument("name", metavar="NAME")
    chars.add_argument("--limit", type=_positive_int, default=10, metavar="N")
    _fleet_cli.add_best_parser(sub, common)
    emu = sub.add_parser("emulator", parents=[common], help="serve an IonQ API emulator")
    emu.add_argument("--host", default="127.0.0.1")
    emu.add_argument("--port", type=int, default=8080)
    emu.add_argument("--latency", type=float, default=0.0, metavar="SECONDS")
    return top


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


COMMANDS = {
    "list": cmd_list,
    "get": cmd_get,
    "watch": cmd_watch,
    "characterizations": cmd_characterizations,
    "best": cmd_best,
    "emulator": cmd_emulator,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 API or network error, 2 usage)."""
    args = parser().parse_args(argv)
    out = _Output(args.json)
    try:
        return asyncio.run(COMMANDS[args.command](args, out))
    except KeyboardInterrupt:
        return 0 if args.command in ("watch", "emulator") else 130
    except _Usage as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except _Abort:
        return 1
    except IonQError as exc:
        _fail(exc)
        return 1
    except BrokenPipeError:  # `ionq-backends list | head`
        return 0
