"""Server-sent events: one latest fleet payload, fanned out to every connected page.

Each client holds only the version it last sent, never a queue: a slow client skips to the
newest payload, so a hundred pages cost a hundred small coroutines and no growing buffers.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp_sse import EventSourceResponse

from .._signals import cancel_and_wait

__all__ = ["Broadcaster", "stream"]


class Broadcaster:
    """The latest payload and its version; `next()` waits for a newer one."""

    def __init__(self) -> None:
        self.version = 0
        self.payload = ""
        self.clients = 0
        self._changed = asyncio.Event()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def publish(self, payload: str) -> None:
        self.version += 1
        self.payload = payload
        # A fresh event per version: waiters of the old one wake, later waiters wait anew.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def close(self) -> None:
        """End every stream (the app is shutting down)."""
        self._closed = True
        self._changed.set()

    async def next(self, seen: int) -> tuple[int, str] | None:
        """The newest payload after version `seen`, or `None` once closed."""
        while self.version <= seen and not self._closed:
            await self._changed.wait()
        if self._closed:
            return None
        return self.version, self.payload


async def stream(
    request: web.Request,
    hub: Broadcaster,
    *,
    ping_interval: float,
    send_timeout: float,
    retry_ms: int,
) -> EventSourceResponse:
    """Send `fleet` events from `hub` until the client goes or the hub closes."""
    response = EventSourceResponse(ping_interval=ping_interval, send_timeout=send_timeout)
    await response.prepare(request)
    hub.clients += 1
    pump = asyncio.create_task(_pump(response, hub, retry_ms))
    try:
        # Ends when aiohttp-sse's pings find the client gone, or when the pump stops streaming.
        await response.wait()
    finally:
        hub.clients -= 1
        await cancel_and_wait(pump)
    return response


async def _pump(response: EventSourceResponse, hub: Broadcaster, retry_ms: int) -> None:
    seen = 0
    retry: int | None = retry_ms  # the reconnection delay, told once
    try:
        while (item := await hub.next(seen)) is not None:
            seen, payload = item
            await response.send(payload, event="fleet", retry=retry)
            retry = None
    except (ConnectionError, TimeoutError, RuntimeError):
        pass  # the client went away, or stalled past send_timeout (aiohttp-sse aborted it)
    finally:
        if response.is_connected():
            response.stop_streaming()
