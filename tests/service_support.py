"""Helpers for the fleet monitor's tests: a server on loopback, in this loop or in a thread."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from ionq_backends.emulator import Emulator
from ionq_backends.service import create_app
from ionq_backends.service._history import SampleRow
from ionq_backends.service._store import HistoryDB

T = TypeVar("T")


@asynccontextmanager
async def running(app: web.Application) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 (its startup runs here); yield its base URL with a slash."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    finally:
        await runner.cleanup()


class ServerThread:
    """An emulator and the monitor in an event loop of their own, for a synchronous browser."""

    def __init__(
        self,
        db_path: Path,
        setup: Callable[[Emulator], None] | None = None,
        emulator: Emulator | None = None,
        **options: Any,
    ) -> None:
        self.db_path = db_path
        self.setup = setup
        self.options = options
        self.loop = asyncio.new_event_loop()
        self.url = ""
        self.emulator = emulator or Emulator()
        self.app: web.Application | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="ionq-serve-test", daemon=True)

    def __enter__(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(30):
            raise TimeoutError("the server thread did not start in 30 s")
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive(), "the server thread did not stop in 30 s"
        self.loop.close()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with self.emulator:
            if self.setup is not None:
                self.setup(self.emulator)  # before the monitor lists the fleet
            self.app = create_app(base_url=self.emulator.base_url, db_path=self.db_path,
                                  **self.options)  # fmt: skip
            async with running(self.app) as url:
                self.url = url
                self._ready.set()
                await self._stop.wait()

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn` in the server's loop thread and return its result."""

        async def call() -> T:
            return fn(*args, **kwargs)

        return self.run(call())

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


def seed_history(path: Path, queues: dict[str, float], *, days: float = 7, step: int = 600) -> int:
    """Write `days` of plausible samples (every `step` s) around each backend's typical queue
    seconds in `queues`; return the rows written."""
    now = int(datetime.now(UTC).timestamp())
    start = now - int(days * 86400)
    rows = []
    for index, (name, typical) in enumerate(queues.items()):
        base = max(typical, 300.0) / 1.4
        for bucket in range(start - start % step, now - step, step):
            phase = (bucket - start) / 86400 * 2 * math.pi
            queue = base * (
                1.4 + 0.6 * math.sin(phase + index) + 0.15 * math.sin(phase * 7.3 + index)
            )
            down = (bucket // 3600 + index * 5) % 53 < 3  # a few outages of a few hours
            for _ in range(3):
                rows.append(SampleRow(name, bucket, 1, 0 if down else 1, max(0.0, queue)))
    db = HistoryDB(path)
    try:
        db.record(rows, [])
    finally:
        db.close()
    return len(rows)
