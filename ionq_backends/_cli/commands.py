"""The subcommands: each talks to the API (or serves the emulator) and prints through `Output`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TextIO, TypeVar

import aiohttp

from .._client import IonQClient
from .._constants import MAX_PAGE_SIZE
from .._errors import IonQError
from .._json import to_json
from .._models import Backend, Characterization
from .._signals import Stop, cancel_and_wait
from . import fleet
from .format import (
    BACKEND_HEADERS,
    STATUS_COLOURS,
    backend_rows,
    describe_change,
    error_json,
    printable,
    table,
)

__all__ = ["COMMANDS", "PROG", "Abort", "Output", "Usage", "report"]

PROG = "ionq-backends"
PROGRESS_REDRAW = 0.1  # seconds between redraws of `get`'s progress line
T = TypeVar("T")


class Abort(Exception):
    """Ends a command with exit status 1 after its message is printed."""


class Usage(Exception):
    """A usage error found after parsing (exit status 2)."""


class Output:
    """Where a command prints: a table for people, or JSON with `--json`."""

    def __init__(self, as_json: bool, stream: TextIO = sys.stdout) -> None:
        self.json = as_json
        self.stream = stream
        self.colour = stream.isatty() and "NO_COLOR" not in os.environ

    def print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def dump(self, data: Any) -> None:
        self.print(json.dumps(to_json(data), indent=2))

    @property
    def status_colours(self) -> Mapping[str, str] | None:
        return STATUS_COLOURS if self.colour else None

    def backends(self, backends: list[Backend]) -> None:
        if self.json:
            self.dump(backends)
            return
        colour = {1: STATUS_COLOURS} if self.colour else {}
        self.print(table(BACKEND_HEADERS, backend_rows(backends, datetime.now(UTC)), colour))


def report(error: IonQError, backend: str | None = None) -> None:
    """One stderr line for an error, no traceback."""
    prefix = f"{PROG}: {backend}: " if backend else f"{PROG}: error: "
    print(printable(prefix + str(error)), file=sys.stderr, flush=True)


@asynccontextmanager
async def _client(
    args: argparse.Namespace, traces: Sequence[aiohttp.TraceConfig] = ()
) -> AsyncIterator[IonQClient]:
    async with AsyncExitStack() as stack:
        base_url = args.base_url
        if args.emulator:
            from ..emulator import Emulator

            base_url = (await stack.enter_async_context(Emulator())).base_url
        session = None
        if traces:  # our own session, so that aiohttp reports each request's end to us
            session = await stack.enter_async_context(
                aiohttp.ClientSession(trace_configs=list(traces))
            )
        try:
            client = IonQClient(
                base_url=base_url, api_version=args.api_version, timeout=args.timeout,
                session=session, verbose_status=getattr(args, "verbose_status", False),
            )  # fmt: skip
        except ValueError as exc:
            raise Usage(str(exc)) from None
        yield await stack.enter_async_context(client)


class _Progress:
    """`fetched k/N  1.4s` on stderr, counted from aiohttp's end-of-request trace and redrawn
    while requests are pending, so a slow fetch visibly moves."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.trace = aiohttp.TraceConfig()
        self.trace.on_request_end.append(self._ended)
        self.trace.on_request_exception.append(self._failed)

    async def _ended(self, *_: object) -> None:
        self.done = min(self.total, self.done + 1)  # a retried request counts once

    async def _failed(self, session: object, context: object, params: Any) -> None:
        if not isinstance(params.exception, asyncio.CancelledError):  # a cancel is no fetch
            await self._ended()

    @asynccontextmanager
    async def shown(self) -> AsyncIterator[None]:
        """Redraw every tenth of a second until the block ends, then clear the line."""
        loop = asyncio.get_running_loop()
        started = loop.time()

        def draw() -> None:
            line = f"\rfetched {self.done}/{self.total}  {loop.time() - started:.1f}s"
            print(line, end="", file=sys.stderr, flush=True)

        async def redraw() -> None:
            while True:
                draw()
                await asyncio.sleep(PROGRESS_REDRAW)

        task = asyncio.create_task(redraw())
        try:
            yield
        finally:
            await cancel_and_wait(task)
            draw()  # the final count, however fast it came
            print("\r\x1b[K", end="", file=sys.stderr, flush=True)


async def _bounded(args: argparse.Namespace, work: Awaitable[T], client: IonQClient) -> T:
    """The whole command, retries included, ends within --timeout; the message says what the
    last failed attempt met, so a deadline never hides a refused connection."""
    try:
        async with asyncio.timeout(args.timeout):
            return await work
    except TimeoutError:
        where = "the embedded emulator" if args.emulator else (args.base_url or "the IonQ API")
        last = client.last_failure
        cause = f" (last attempt: {last.message})" if last is not None else ""
        print(printable(f"{PROG}: error: timed out after {args.timeout:g}s waiting for "
                        f"{where}{cause}"), file=sys.stderr, flush=True)  # fmt: skip
        raise Abort from None


async def cmd_list(args: argparse.Namespace, out: Output) -> int:
    async with _client(args) as client:
        backends = await _bounded(args, client.list_backends(), client)
    out.backends(fleet.filter_list(backends, args))
    return 0


async def cmd_get(args: argparse.Namespace, out: Output) -> int:
    progress = _Progress(len(args.names)) if sys.stderr.isatty() and len(args.names) > 1 else None
    async with _client(args, [progress.trace] if progress else []) as client:
        fetch = _bounded(args, client.get_backends(args.names), client)
        if progress:
            async with progress.shown():
                snapshot = await fetch
        else:
            snapshot = await fetch
    if out.json:  # one item per name asked, in order: its backend, or its error
        out.dump([snapshot[n] if n in snapshot else _failed(n, snapshot.errors[n])
                  for n in dict.fromkeys(args.names)])  # fmt: skip
    elif snapshot:  # every name failed: their errors, and no empty table
        out.backends(list(snapshot.values()))
    for name, error in snapshot.errors.items():
        report(error, name)
    return 1 if snapshot.errors else 0


def _failed(name: str, error: IonQError) -> dict[str, Any]:
    """A name `get --json` could not fetch, as its JSON says it."""
    status = getattr(error, "status_code", None)
    what = {"type": type(error).__name__, "message": str(error), "status_code": status,
            "request_id": error.request_id}  # fmt: skip
    return {"name": name, "error": what}


async def cmd_characterizations(args: argparse.Namespace, out: Output) -> int:
    async with _client(args) as client:

        async def collect() -> list[Characterization]:
            found: list[Characterization] = []
            pages = client.iter_characterizations(
                args.name, page_size=min(args.limit, MAX_PAGE_SIZE)
            )
            async for item in pages:
                found.append(item)
                if len(found) == args.limit:
                    break
            await pages.aclose()
            return found

        items = await _bounded(args, collect(), client)
    now = datetime.now(UTC)
    if out.json:
        out.dump([to_json(c) | fleet.characterization_extras(c, now) for c in items])
        return 0
    empty = printable(f"no characterizations for {args.name}")
    out.print(fleet.characterization_table(items, now) if items else empty)
    return 0


async def cmd_best(args: argparse.Namespace, out: Output) -> int:
    try:
        circuit = fleet.circuit_of(args)
    except ValueError as exc:
        raise Usage(str(exc)) from None
    async with _client(args) as client:
        ranked, errors = await _bounded(args, fleet.run_best(args, client, circuit), client)
    now = datetime.now(UTC)
    out.print(fleet.best_json(ranked) if out.json else fleet.best_table(ranked, now))
    for name, error in errors.items():
        report(error, name)
    return 1 if errors else 0


async def cmd_watch(args: argparse.Namespace, out: Output) -> int:
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
                    "gone": event.gone,
                }
                out.print(json.dumps(to_json(record)))
            else:
                out.print(describe_change(event, now, colour=out.status_colours))
    return 0  # pragma: no cover - watch ends only by Ctrl-C


async def cmd_emulator(args: argparse.Namespace, out: Output) -> int:
    from ..emulator import Emulator

    stop = Stop()
    stop.install()
    try:
        async with Emulator(
            host=args.host,
            port=args.port,
            latency=args.latency,
            scenario=args.scenario,
            speed=args.speed,
        ) as emulator:
            if out.json:
                out.print(json.dumps({"base_url": emulator.base_url}))
            else:
                out.print(f"IonQ API emulator (v0.3 and v0.4) listening on {emulator.base_url}")
            return await stop.wait()
    except ValueError as exc:
        raise Usage(str(exc)) from None


COMMANDS: dict[str, Callable[[argparse.Namespace, Output], Coroutine[Any, Any, int]]] = {
    "list": cmd_list,
    "get": cmd_get,
    "watch": cmd_watch,
    "characterizations": cmd_characterizations,
    "best": cmd_best,
    "emulator": cmd_emulator,
}
