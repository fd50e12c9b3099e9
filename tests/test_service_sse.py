"""`service/_sse.py`: the latest fleet payload fanned out to every page, over a real server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

from ionq_backends.service._sse import Broadcaster, stream

from .conftest import serve
from .test_service_app import read_event

RETRY_MS = 1234


@asynccontextmanager
async def streaming(
    hub: Broadcaster, *, send_timeout: float = 30.0
) -> AsyncIterator[tuple[str, asyncio.Queue[None]]]:
    """A server streaming `hub` at `/events`; yields its URL and a queue that gets an item as
    each stream ends."""
    ended: asyncio.Queue[None] = asyncio.Queue()

    async def events(request: web.Request) -> web.StreamResponse:
        try:
            return await stream(request, hub, ping_interval=60, send_timeout=send_timeout,
                                retry_ms=RETRY_MS)  # fmt: skip
        finally:
            ended.put_nowait(None)

    async with serve({"/events": events}) as base:
        yield base + "/events", ended


async def raw_event(content: aiohttp.StreamReader) -> list[str]:
    """One event's lines as sent, up to the blank line that ends it."""
    lines = []
    while line := (await content.readline()).decode().rstrip("\r\n"):
        lines.append(line)
    return lines


async def test_a_page_gets_the_latest_payload_at_once_and_the_retry_delay_once() -> None:
    hub = Broadcaster()
    hub.publish('{"round": 1}')  # before the page connects: it is sent on connecting
    async with streaming(hub) as (url, _), aiohttp.ClientSession() as http:
        async with http.get(url) as response, asyncio.timeout(10):
            assert await raw_event(response.content) == [
                "event: fleet", 'data: {"round": 1}', f"retry: {RETRY_MS}"]  # fmt: skip
            hub.publish('{"round": 2}')
            assert await raw_event(response.content) == ["event: fleet", 'data: {"round": 2}']
        hub.close()


async def test_every_open_page_is_counted_until_its_stream_ends() -> None:
    hub = Broadcaster()
    hub.publish("{}")
    async with streaming(hub) as (url, ended), aiohttp.ClientSession() as http:
        pages = [await http.get(url) for _ in range(2)]
        async with asyncio.timeout(10):
            for page in pages:
                assert await read_event(page.content) == ("fleet", "{}")
            assert hub.clients == 2
            hub.close()  # the app shuts down: every stream ends
            for _ in pages:
                await ended.get()
        assert hub.clients == 0
        for page in pages:
            page.close()


async def test_a_page_that_stops_reading_is_dropped_after_the_send_timeout() -> None:
    hub = Broadcaster()
    hub.publish("{}")
    async with streaming(hub, send_timeout=0.2) as (url, ended):
        host, port = url.removeprefix("http://").split("/")[0].split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write(f"GET /events HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            await reader.readuntil(b"\r\n\r\n")  # its headers, then it never reads again
            hub.publish("x" * 32_000_000)  # more than the socket buffers hold
            async with asyncio.timeout(10):
                await ended.get()  # dropped, not waited for forever
            assert hub.clients == 0
        finally:
            writer.close()
            hub.close()


async def test_a_page_that_comes_before_the_first_round_waits_for_it() -> None:
    hub = Broadcaster()
    async with streaming(hub) as (url, _), aiohttp.ClientSession() as http:
        async with http.get(url) as response, asyncio.timeout(10):
            hub.publish('{"round": 1}')  # nothing was sent before it: not an empty event
            assert await read_event(response.content) == ("fleet", '{"round": 1}')
        hub.close()
