"""Shared test fixtures, and the aioresponses shim for aiohttp >= 3.14."""

from __future__ import annotations

import asyncio
import inspect
import os
import queue
import signal
import subprocess
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import IO, Any, AnyStr

import aiohttp
import aioresponses.core
import pytest
from aiohttp import web

import ionq_backends

SECRET = "sk-test-0123456789abcdef"


class _StubStreamWriter:
    """aiohttp 3.14's ClientResponse reads only `.output_size` from its stream writer."""

    output_size = 0


class ShimClientResponse(aiohttp.ClientResponse):
    """A ClientResponse aioresponses can build: it supplies the `stream_writer` aiohttp 3.14 wants.

    Upstream: pnuckowski/aioresponses#289. `test_aioresponses_shim_still_needed` says when
    to drop it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _StubStreamWriter())
        super().__init__(*args, **kwargs)


if "MUTANT_UNDER_TEST" in os.environ:
    # Under mutmut (scripts/mutation.py) a child process would import the mutated tree from the
    # working directory without mutmut's bookkeeping, and hang: a test that starts one cannot
    # kill a mutant, so it is skipped there, and its code counts as not reached in-process.
    @pytest.fixture(autouse=True)
    def _no_child_processes_under_mutmut(monkeypatch: pytest.MonkeyPatch) -> None:
        def refuse(*args: Any, **kwargs: Any) -> None:
            pytest.skip("starts a child process, which mutmut cannot follow")

        monkeypatch.setattr(subprocess.Popen, "__init__", refuse)


def shim_needed() -> bool:
    return "stream_writer" in inspect.signature(aiohttp.ClientResponse.__init__).parameters


if shim_needed():
    aioresponses.core.ClientResponse = ShimClientResponse  # type: ignore[misc]


# Every read from a child process is bounded: a child that never writes fails its test, it
# does not hang the suite.
CHILD_TIMEOUT = 60.0


def read_line(stream: IO[AnyStr], timeout: float = CHILD_TIMEOUT) -> AnyStr:
    """One line from a child's pipe, or `queue.Empty` after `timeout` seconds."""
    lines: queue.Queue[AnyStr] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    return lines.get(timeout=timeout)


@contextmanager
def child(command: Sequence[str], **popen: Any) -> Iterator[subprocess.Popen[str]]:
    """A text-mode child process that is ended, reaped and closed however the block ends.

    A child still running gets Ctrl-C first, so it ends as a user would end it (and coverage's
    subprocess measurement saves its data); one that ignores it for 10 s is killed.
    """
    proc = subprocess.Popen(list(command), text=True, **popen)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        proc.wait(timeout=CHILD_TIMEOUT)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serve(routes: dict[str, Handler], **runner_kwargs: Any) -> AsyncIterator[str]:
    """Run a real aiohttp.web server on loopback with GET `routes`; yield its base URL."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5, **runner_kwargs)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


class ClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock the test moves forward."""

    def __init__(self) -> None:
        super().__init__()
        self.offset = 0.0

    def time(self) -> float:
        return super().time() + self.offset

    async def advance(self, seconds: float) -> None:
        """Move the clock on, and return once the timers then due have run."""
        self.offset += seconds
        after = self.create_future()
        self.call_at(self.time(), after.set_result, None)
        await after


def run_on_clock(test: Callable[[ClockLoop], Awaitable[Any]]) -> Any:
    """Run `test(loop)` on a `ClockLoop` of its own."""
    with asyncio.Runner(loop_factory=ClockLoop) as runner:
        loop = runner.get_loop()
        assert isinstance(loop, ClockLoop)
        return runner.run(test(loop))


class Hang:
    """A handler that never answers; `arrived` is set once a request reaches it."""

    def __init__(self) -> None:
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.arrived.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def ionq_tasks() -> list[asyncio.Task[Any]]:
    """Tasks still running ionq_backends code, other than the caller's: none may outlive a call.

    Told by the files of the coroutines a task awaits, outermost to innermost, not by its repr:
    under mutmut the outermost is mutmut's wrapper, and the repr names only that."""
    package = str(Path(ionq_backends.__file__).parent)

    def ours(coro: Any) -> bool:
        while coro is not None:
            code = getattr(coro, "cr_code", None)
            if code is not None and code.co_filename.startswith(package):
                return True
            coro = getattr(coro, "cr_await", None)
        return False

    return [
        t for t in asyncio.all_tasks() if t is not asyncio.current_task() and ours(t.get_coro())
    ]


@pytest.fixture
def sleeps() -> list[float]:
    """Delays the client asked to sleep; pass `fake_sleep` to the client to record them."""
    return []


@pytest.fixture
def fake_sleep(sleeps: list[float]) -> Callable[[float], Awaitable[None]]:
    async def sleep(delay: float) -> None:
        sleeps.append(delay)
        await asyncio.sleep(0)

    return sleep
