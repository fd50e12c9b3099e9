"""Fan-out against a real aiohttp.web server: requests overlap, the bound holds, cancel is clean."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from ionq_backends import (
    Backend,
    BackendName,
    Characterization,
    IonQClient,
    IonQError,
    ServerError,
)
from ionq_backends.emulator import Emulator

from .conftest import Hang, ionq_tasks, serve


def backend_json(name: str) -> dict[str, object]:
    return {"backend": name, "status": "available", "last_updated": "2025-06-16T00:00:00Z"}


async def test_fan_out_requests_overlap_in_time() -> None:
    """Every handler waits until all six are in flight: a sequential client would never finish."""
    all_in = asyncio.Barrier(len(BackendName))

    async def handler(request: web.Request) -> web.Response:
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


# One backend's failure is its own, whatever it is: a non-IonQError, raised where no parser
# foresaw it, becomes that backend's IonQError (its __cause__ kept) and costs no other backend.

ODD = [KeyError("boom"), RuntimeError("boom"), ZeroDivisionError("boom"), AttributeError("boom")]
# While a body is parsed, LookupError, ValueError, TypeError and ArithmeticError are read as the
# server's doing (a ResponseValidationError, tested in test_wire.py); these are not.
UNFORESEEN = [RuntimeError("boom"), AttributeError("boom"), NotImplementedError("boom")]


def raising_for(original: Any, marker: str, exc: Exception) -> Any:
    """`original`, raising `exc` instead when its first argument names `marker`."""

    async def call(first: Any, *args: Any, **kwargs: Any) -> Any:
        if marker in str(first):
            raise exc
        return await original(first, *args, **kwargs)

    return call


def assert_wrapped(error: IonQError | None, exc: Exception) -> None:
    assert type(error) is IonQError  # the base class: not a status, validation or network error
    assert error.__cause__ is exc
    assert error.message == f"unexpected {type(exc).__name__}: {exc}"


@pytest.mark.parametrize("exc", ODD, ids=lambda e: type(e).__name__)
async def test_a_non_ionq_error_in_one_request_is_that_backends_error_only(
    ionq_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, exc: Exception
) -> None:
    names = ["qpu.aria-1", "qpu.forte-1", "qpu.aria-2"]
    async with IonQClient(base_url=ionq_emulator.base_url) as client:
        transport = client._transport
        monkeypatch.setattr(transport, "attempt", raising_for(transport.attempt, "forte-1", exc))
        snapshot = await client.get_backends(names)
    assert sorted(snapshot) == ["qpu.aria-1", "qpu.aria-2"]
    assert all(isinstance(b, Backend) and b.name == n for n, b in snapshot.items())
    assert list(snapshot.errors) == ["qpu.forte-1"]
    assert_wrapped(snapshot.errors["qpu.forte-1"], exc)


@pytest.mark.parametrize("exc", UNFORESEEN, ids=lambda e: type(e).__name__)
async def test_a_non_ionq_error_while_picking_one_backend_is_that_backends_error_only(
    ionq_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, exc: Exception
) -> None:
    """v0.3 answers every name from one list request; structuring one name fails oddly."""
    async with IonQClient(base_url=ionq_emulator.base_url, api_version="v0.3") as client:
        original = client._backend

        def structure(item: Any, where: str = "") -> Backend:
            if item.get("backend") == "qpu.forte-1":
                raise exc
            return original(item, where)

        monkeypatch.setattr(client, "_backend", structure)
        snapshot = await client.get_backends(["qpu.aria-1", "qpu.forte-1"])
    assert list(snapshot) == ["qpu.aria-1"]
    assert_wrapped(snapshot.errors.get("qpu.forte-1"), exc)
    assert sum(r.path == "/v0.3/backends" for r in ionq_emulator.requests) == 1


@pytest.mark.parametrize("exc", ODD, ids=lambda e: type(e).__name__)
async def test_a_non_ionq_error_in_one_latest_characterization_is_that_backends_only(
    ionq_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, exc: Exception
) -> None:
    async with IonQClient(base_url=ionq_emulator.base_url) as client:
        original = client.latest_characterization
        monkeypatch.setattr(client, "latest_characterization", raising_for(original, "forte", exc))
        found = await client.latest_characterizations(["qpu.aria-1", "qpu.forte-1", "simulator"])
    assert isinstance(found["qpu.aria-1"], Characterization)
    assert found["simulator"] is None  # no characterization: not an error
    assert "qpu.forte-1" not in found
    assert list(found.errors) == ["qpu.forte-1"]
    assert_wrapped(found.errors["qpu.forte-1"], exc)


@pytest.mark.parametrize("status", [503, 404])
async def test_v03_fan_out_when_the_list_request_itself_fails(
    ionq_emulator: Emulator, status: int
) -> None:
    """Every name shares v0.3's one list request, sent once: its failure is every name's
    error, each a copy of its own (one object raised for each would share one traceback)."""
    ionq_emulator.inject("/v0.3/backends", status=status, times=10)
    names = ["qpu.aria-1", "qpu.forte-1", "qpu.nope"]
    async with IonQClient(base_url=ionq_emulator.base_url, api_version="v0.3",
                          max_retries=0) as client:  # fmt: skip
        snapshot = await client.get_backends(names)
    assert dict(snapshot) == {}
    assert list(snapshot.errors) == names
    errors = list(snapshot.errors.values())
    assert len({id(e) for e in errors}) == len(names)
    for error in errors:
        assert getattr(error, "status_code", None) == status
        assert error.path == "/v0.3/backends"
    error = errors[0]
    if status == 503:
        assert isinstance(error, ServerError)
    assert sum(r.path == "/v0.3/backends" for r in ionq_emulator.requests) == 1
