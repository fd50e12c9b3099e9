"""Fan-out against a real aiohttp.web server: requests overlap, the bound holds, cancel is clean."""

from __future__ import annotations

import asyncio
import gc

import aiohttp
import pytest
from aiohttp import web

from ionq_backends import BackendName, IonQClient

from .conftest import Hang, ionq_tasks, serve


def backend_json(name: str) -> dict[str, object]:
    return {"backend": name, "status": "available", "last_updated": "2025-06-16T00:00:00Z"}


async def test_fan_out_requests_overlap_in_time() -> None:
    """Every handler waits until all six are in flight: a sequential client would never finish."""
    in_flight = 0
    all_in = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        nonlocal in_flight
        in_flight += 1
        if in_flight == len(BackendName):
            all_in.set()
        await all_in.wait()
        return web.json_response(backend_json(request.match_info["name"]))

    async with serve({"/v0.4/backends/{name}": handler}) as base:
        async with IonQClient(base_url=base, max_concurrency=8) as client:
            async with asyncio.timeout(10):
                snapshot = await client.get_backends()
    assert sorted(snapshot) == sorted(BackendName)
    assert not snapshot.errors


async def test_max_concurrency_bounds_requests_in_flight() -> None:
    in_flight = peak = 0
    full = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight == 3:
            full.set()
        await full.wait()
        in_flight -= 1
        return web.json_response(backend_json(request.match_info["name"]))

    async with serve({"/v0.4/backends/{name}": handler}) as base:
        async with IonQClient(base_url=base, max_concurrency=3) as client:
            async with asyncio.timeout(10):
                snapshot = await client.get_backends([f"b{i}" for i in range(12)])
    assert len(snapshot) == 12
    assert peak == 3


async def test_the_bound_is_shared_by_every_method_of_one_client() -> None:
    in_flight = peak = 0
    release = asyncio.Event()
    two_in = asyncio.Event()

    async def one(request: web.Request) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight == 2:
            two_in.set()
        await release.wait()
        in_flight -= 1
        return web.json_response(backend_json(request.match_info.get("name", "x")))

    async def listing(request: web.Request) -> web.Response:
        await one(request)
        return web.json_response([backend_json("x")])

    async with serve({"/v0.4/backends/{name}": one, "/v0.4/backends": listing}) as base:
        async with IonQClient(base_url=base, max_concurrency=2) as client:
            calls = asyncio.gather(client.get_backends(["a", "b"]), client.list_backends())
            async with asyncio.timeout(10):
                await two_in.wait()
                release.set()
                await calls
    assert peak == 2


@pytest.mark.parametrize("borrowed", [False, True])
async def test_cancelled_get_backends_leaves_no_task_connection_or_session(borrowed: bool) -> None:
    arrived = 0
    all_arrived = asyncio.Event()
    dropped = 0
    all_dropped = asyncio.Event()
    names = list(BackendName)

    async def handler(request: web.Request) -> web.Response:
        nonlocal arrived, dropped
        arrived += 1
        if arrived == len(names):
            all_arrived.set()
        try:
            await asyncio.Event().wait()  # never answers
        except asyncio.CancelledError:  # the client closed this connection
            dropped += 1
            if dropped == len(names):
                all_dropped.set()
            raise
        raise AssertionError("unreachable")

    async with serve({"/v0.4/backends/{name}": handler}, handler_cancellation=True) as base:
        session = aiohttp.ClientSession() if borrowed else None
        client = IonQClient(base_url=base, session=session)
        task = asyncio.create_task(client.get_backends(names))
        async with asyncio.timeout(10):
            await all_arrived.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await all_dropped.wait()  # every connection was closed, none left in the pool
        assert ionq_tasks() == []
        await client.close()
        if session is not None:
            assert not session.closed  # a borrowed session is never closed by the client
            await session.close()
    gc.collect()  # with filterwarnings=error, an unclosed session would fail here


async def test_cancelling_any_call_mid_flight_is_clean() -> None:
    hang = Hang()
    routes = {"/v0.4/backends": hang.handle, "/v0.4/backends/{name}/characterizations": hang.handle}
    async with serve(routes) as base:
        async with IonQClient(base_url=base) as client:
            for call in (client.list_backends(), client.latest_characterization("qpu.aria-1")):
                hang.arrived.clear()
                task = asyncio.ensure_future(call)
                async with asyncio.timeout(10):
                    await hang.arrived.wait()
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                assert ionq_tasks() == []
