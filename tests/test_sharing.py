"""One request for many callers: single-flight, `max_age`, and the whole fleet in one round trip.

Against a real aiohttp.web server on loopback, whose handlers are held by events.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from ionq_backends import (
    Backend,
    BackendName,
    IonQClient,
    NotFoundError,
    ResponseValidationError,
    _call,
)

from .conftest import ionq_tasks, serve

ONE = "/v0.4/backends/{name}"


def backend(name: str) -> dict[str, Any]:
    return {"backend": name, "status": "available", "qubits": 36}


class Gate:
    """A handler that counts its requests and answers once `open` is set."""

    def __init__(self, status: int = 200) -> None:
        self.count = 0
        self.finished = 0
        self.arrived = asyncio.Event()
        self.open = asyncio.Event()
        self.status = status

    async def handle(self, request: web.Request) -> web.Response:
        self.count += 1
        self.arrived.set()
        await self.open.wait()
        self.finished += 1
        if self.status != 200:
            body = {"error": "Not Found", "message": "no such backend", "statusCode": 404}
            return web.json_response(body, status=self.status)
        return web.json_response(backend(request.match_info["name"]))


async def test_50_concurrent_identical_gets_send_one_request() -> None:
    gate = Gate()
    async with serve({ONE: gate.handle}) as base, IonQClient(base_url=base) as client:
        calls = [asyncio.create_task(client.get_backend("qpu.forte-1")) for _ in range(50)]
        await gate.arrived.wait()
        gate.open.set()
        found = await asyncio.gather(*calls)
        assert gate.count == 1
        assert all(b == found[0] and b.name == "qpu.forte-1" for b in found)
        await client.get_backend("qpu.forte-1")  # landed: the next call sends its own
        assert gate.count == 2
        assert ionq_tasks() == []


async def test_every_waiter_gets_the_error_as_its_own_copy() -> None:
    gate = Gate(status=404)
    async with serve({ONE: gate.handle}) as base, IonQClient(base_url=base) as client:
        calls = [asyncio.create_task(client.get_backend("qpu.gone")) for _ in range(3)]
        await gate.arrived.wait()
        gate.open.set()
        errors = await asyncio.gather(*calls, return_exceptions=True)
    assert gate.count == 1
    assert all(isinstance(e, NotFoundError) for e in errors)
    assert len({id(e) for e in errors}) == 3  # never one object raised in three tasks
    assert {e.path for e in errors} == {"/v0.4/backends/qpu.gone"}  # type: ignore[union-attr]


@pytest.mark.parametrize("cancelled", [0, 1])  # the caller that sent it, and one that joined
async def test_cancelling_one_waiter_leaves_the_others_their_answer(cancelled: int) -> None:
    gate = Gate()
    async with serve({ONE: gate.handle}) as base, IonQClient(base_url=base) as client:
        calls = [asyncio.create_task(client.get_backend("qpu.forte-1")) for _ in range(3)]
        await gate.arrived.wait()
        calls[cancelled].cancel()
        with pytest.raises(asyncio.CancelledError):
            await calls[cancelled]
        gate.open.set()
        others = [c for i, c in enumerate(calls) if i != cancelled]
        found = await asyncio.gather(*others)
        assert [b.name for b in found] == ["qpu.forte-1", "qpu.forte-1"]
        # A joiner's cancel leaves the request alone; the sender's re-sends it for the others.
        assert gate.count == (2 if cancelled == 0 else 1)
        assert ionq_tasks() == []


async def test_cancelling_every_waiter_ends_the_request() -> None:
    gate = Gate()
    async with serve({ONE: gate.handle}) as base, IonQClient(base_url=base) as client:
        calls = [asyncio.create_task(client.get_backend("qpu.forte-1")) for _ in range(3)]
        await gate.arrived.wait()
        for call in calls:  # the sender first: a resend starts, then its last waiter leaves
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
        assert ionq_tasks() == []  # nothing of the flight outlives its last caller
        gate.open.set()
        assert gate.finished == 0


async def test_with_raw_response_records_each_waiters_own_reply() -> None:
    gate = Gate()
    async with serve({ONE: gate.handle}) as base, IonQClient(base_url=base) as client:
        calls = [
            asyncio.create_task(client.with_raw_response.get_backend("qpu.forte-1"))
            for _ in range(2)
        ]
        await gate.arrived.wait()
        gate.open.set()
        raws = await asyncio.gather(*calls)
    assert [r.status for r in raws] == [200, 200]
    assert [r.parsed.name for r in raws] == ["qpu.forte-1"] * 2


async def test_max_age_answers_from_memory_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(_call, "monotonic", lambda: now[0])
    gate = Gate()
    gate.open.set()
    async with serve({ONE: gate.handle}) as base:
        async with IonQClient(base_url=base) as client:  # off by default
            await client.get_backend("qpu.forte-1")
            await client.get_backend("qpu.forte-1")
            assert gate.count == 2
            await client.get_backend("qpu.forte-1", max_age=5)  # nothing kept without max_age
            assert gate.count == 3
            await client.get_backend("qpu.forte-1", max_age=5)  # younger than 5 s: memory
            assert gate.count == 3
            now[0] += 5.001
            await client.get_backend("qpu.forte-1", max_age=5)  # older: asked again
            assert gate.count == 4
        async with IonQClient(base_url=base, max_age=10) as client:  # the client's default
            await client.get_backends(["qpu.aria-1"])
            now[0] += 10
            await client.get_backends(["qpu.aria-1"])  # exactly 10 s old: still fresh
            assert gate.count == 5
            await client.get_backends(["qpu.aria-1"], max_age=0)  # a call asks fresh
            assert gate.count == 6


async def test_a_poll_with_max_age_0_asks_every_round_and_keeps_what_it_got() -> None:
    gate = Gate()
    gate.open.set()
    async with serve({ONE: gate.handle}) as base, IonQClient(base_url=base) as client:
        rounds = client.poll(["qpu.forte-1"], interval=0.001, max_age=0)
        try:
            for expected in (1, 2):
                await anext(rounds)
                assert gate.count == expected  # each round asked afresh
        finally:
            await rounds.aclose()
        await client.get_backend("qpu.forte-1", max_age=60)  # the last round's answer
        assert gate.count == 2
        await client.get_backend("qpu.forte-1", max_age=0)
        assert gate.count == 3


async def test_max_age_never_keeps_an_error() -> None:
    gate = Gate(status=404)
    gate.open.set()
    async with serve({ONE: gate.handle}) as base:
        async with IonQClient(base_url=base, max_age=60) as client:
            for _ in range(2):
                with pytest.raises(NotFoundError):
                    await client.get_backend("qpu.gone")
    assert gate.count == 2


@pytest.mark.parametrize("limit", [1, 2, 3])
async def test_the_memory_keeps_at_most_max_remembered_answers(
    monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    monkeypatch.setattr(_call, "MAX_REMEMBERED", 2)
    gate = Gate()
    gate.open.set()
    async with serve({ONE: gate.handle}) as base:
        async with IonQClient(base_url=base, max_age=60) as client:
            names = [f"qpu.b{i}" for i in range(limit)]
            for name in names:
                await client.get_backend(name)
            before = gate.count
            await client.get_backend(names[0])  # evicted only past the limit
    assert gate.count - before == (1 if limit > 2 else 0)


@pytest.mark.parametrize("value", [-1, float("nan"), float("inf")])
def test_max_age_must_be_finite_seconds(value: float) -> None:
    with pytest.raises(ValueError, match="max_age"):
        IonQClient(max_age=value)


async def test_the_whole_fleet_comes_in_one_round_trip_after_the_first() -> None:
    """Round 2 on: the list handler answers only once a left-out name's request has arrived,
    so a client that waited for the list before asking would time out."""
    listed = [str(n) for n in BackendName if n != BackendName.ARIA_2]
    rounds = 0
    asked = asyncio.Event()
    order: list[str] = []

    async def listing(request: web.Request) -> web.Response:
        order.append("list")
        if rounds >= 2:
            await asyncio.wait_for(asked.wait(), 5)
        return web.json_response([backend(n) for n in listed])

    async def one(request: web.Request) -> web.Response:
        order.append(request.match_info["name"])
        asked.set()
        return web.json_response(backend(request.match_info["name"]))

    routes = {"/v0.4/backends": listing, "/v0.4/backends/{name}": one}
    async with serve(routes) as base, IonQClient(base_url=base) as client:
        for number in (1, 2):
            rounds = number  # what the list handler reads
            asked.clear()
            order.clear()
            snapshot = await client.get_backends()
            assert sorted(snapshot) == sorted(BackendName) and not snapshot.errors
            assert sorted(order) == sorted(["list", "qpu.aria-2"])
        listed.remove("qpu.forte-1")  # newly left out: asked after this list, still found
        rounds = 1
        order.clear()
        snapshot = await client.get_backends()
        assert sorted(snapshot) == sorted(BackendName)
        assert order[-1] == "qpu.forte-1" and order.count("qpu.aria-2") == 1


async def test_a_resent_request_that_fails_gives_the_one_left_its_error_and_ends() -> None:
    gate = Gate(status=404)
    async with serve({ONE: gate.handle}) as base, IonQClient(base_url=base) as client:
        sender, joiner = [asyncio.create_task(client.get_backend("qpu.gone")) for _ in range(2)]
        await gate.arrived.wait()
        sender.cancel()  # the request is sent again, in a task, for the joiner
        with pytest.raises(asyncio.CancelledError):
            await sender
        gate.open.set()
        with pytest.raises(NotFoundError):
            await joiner  # the error, not the sender's cancel
        assert gate.count == 2
        with pytest.raises(NotFoundError):
            await client.get_backend("qpu.gone")  # the flight has ended: a request of its own
        assert gate.count == 3
        assert ionq_tasks() == []


async def test_a_sender_and_its_joiner_cancelled_together_leave_no_flight_behind() -> None:
    """Cancelled in one loop turn (a gather under a deadline), the sender sees a joiner that is
    leaving too: no request is left in flight for later calls to join and wait on forever."""
    gate = Gate()
    async with serve({ONE: gate.handle}) as base, IonQClient(base_url=base) as client:
        calls = [asyncio.create_task(client.get_backend("qpu.forte-1")) for _ in range(2)]
        await gate.arrived.wait()
        for call in calls:
            call.cancel()
        for call in calls:
            with pytest.raises(asyncio.CancelledError):
                await call
        gate.open.set()
        async with asyncio.timeout(10):  # a flight left behind would make this wait forever
            found = await client.get_backend("qpu.forte-1")
        assert found.name == "qpu.forte-1"
        assert ionq_tasks() == []


async def test_a_caller_arriving_as_the_last_waiter_leaves_gets_its_own_answer() -> None:
    """The flight the last waiter abandons is out of reach before its request is cancelled:
    a caller arriving in that moment sends its own request, and is never handed that cancel."""
    gate = Gate()
    async with serve({ONE: gate.handle}) as base, IonQClient(base_url=base) as client:
        sender, joiner = [asyncio.create_task(client.get_backend("qpu.forte-1")) for _ in range(2)]
        await gate.arrived.wait()
        gate.arrived.clear()
        sender.cancel()  # the joiner waits on: the request is sent again for it
        with pytest.raises(asyncio.CancelledError):
            await sender
        await gate.arrived.wait()
        joiner.cancel()  # the last waiter leaves ...
        late = asyncio.create_task(client.get_backend("qpu.forte-1"))  # ... as this one comes
        with pytest.raises(asyncio.CancelledError):
            await joiner
        gate.open.set()
        assert (await late).name == "qpu.forte-1"
        assert late.cancelling() == 0
        assert gate.count == 3
        assert ionq_tasks() == []


async def test_an_answer_without_max_age_replaces_the_one_kept() -> None:
    """A kept answer is never older than one the client has already handed out."""
    statuses = iter(["available", "unavailable", "available"])

    async def handle(request: web.Request) -> web.Response:
        return web.json_response({**backend("qpu.forte-1"), "status": next(statuses)})

    async with serve({ONE: handle}) as base, IonQClient(base_url=base) as client:
        assert (await client.get_backend("qpu.forte-1", max_age=60)).status == "available"
        assert (await client.get_backend("qpu.forte-1")).status == "unavailable"
        assert (await client.get_backend("qpu.forte-1", max_age=60)).status == "unavailable"


@pytest.mark.parametrize("listed", [False, True])  # its own answer, or an item of the list
async def test_max_age_never_keeps_an_answer_that_could_not_be_read(listed: bool) -> None:
    """An unreadable body is an error: the next call asks again and gets the mended one."""
    asked = 0

    async def handle(request: web.Request) -> web.Response:
        nonlocal asked
        asked += 1
        item: Any = "no backend" if asked == 1 else backend("qpu.forte-1")
        return web.json_response([item] if listed else item)

    async def read(client: IonQClient) -> Backend:
        if listed:
            return (await client.list_backends())[0]
        return await client.get_backend("qpu.forte-1")

    routes = {"/v0.4/backends" if listed else ONE: handle}
    async with serve(routes) as base, IonQClient(base_url=base, max_age=60) as client:
        with pytest.raises(ResponseValidationError, match="expected backend object"):
            await read(client)
        assert (await read(client)).qubits == 36  # asked again, not the failure from memory
        assert (await read(client)).qubits == 36  # a readable answer is kept
    assert asked == 2


class CountedFleet:
    """A list that leaves qpu.aria-2 out (or fails, once told to) and every name's own GET,
    each counted by what it was asked."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.list_fails = False
        self.routes = {"/v0.4/backends": self.listing, "/v0.4/backends/{name}": self.one}

    def _count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    async def listing(self, request: web.Request) -> web.Response:
        self._count("list")
        if self.list_fails:
            return web.json_response({"error": "Bad Gateway", "statusCode": 502}, status=502)
        return web.json_response([backend(str(n)) for n in BackendName if n != "qpu.aria-2"])

    async def one(self, request: web.Request) -> web.Response:
        self._count(request.match_info["name"])
        return web.json_response(backend(request.match_info["name"]))


async def test_a_whole_fleet_poll_with_max_age_comes_from_memory_the_second_time() -> None:
    fleet = CountedFleet()
    async with serve(fleet.routes) as base, IonQClient(base_url=base) as client:
        await client.get_backends()  # learns that the list leaves qpu.aria-2 out
        fleet.counts.clear()
        await client.get_backends(max_age=60)  # the list and the left-out name, once each
        assert fleet.counts == {"list": 1, "qpu.aria-2": 1}
        again = await client.get_backends(max_age=60)
        assert fleet.counts == {"list": 1, "qpu.aria-2": 1}  # younger than 60 s: from memory
    assert sorted(again) == sorted(BackendName) and not again.errors


async def test_a_failed_list_asks_each_name_once_counting_those_sent_with_it() -> None:
    fleet = CountedFleet()
    async with serve(fleet.routes) as base, IonQClient(base_url=base, max_retries=0) as client:
        await client.get_backends()
        fleet.counts.clear()
        fleet.list_fails = True
        snapshot = await client.get_backends()  # qpu.aria-2 went with the list: not asked again
    assert fleet.counts == {"list": 1, **dict.fromkeys(map(str, BackendName), 1)}
    assert sorted(snapshot) == sorted(BackendName) and not snapshot.errors


async def test_after_a_failed_list_the_next_poll_is_still_one_round_trip() -> None:
    """A failed first list taught nothing of what lists leave out: the names it could not
    confirm go with the next list, which answers only once the left-out one has been asked."""
    asked = asyncio.Event()
    fails = True
    waited_out: list[str] = []

    async def listing(request: web.Request) -> web.Response:
        if fails:
            return web.json_response({"error": "Bad Gateway", "statusCode": 502}, status=502)
        try:  # a client waiting for the list before asking the rest times out here
            await asyncio.wait_for(asked.wait(), 5)
        except TimeoutError:
            waited_out.append(request.path)
            raise
        return web.json_response([backend(str(n)) for n in BackendName if n != "qpu.aria-2"])

    async def one(request: web.Request) -> web.Response:
        if request.match_info["name"] == "qpu.aria-2":
            asked.set()
        return web.json_response(backend(request.match_info["name"]))

    routes = {"/v0.4/backends": listing, "/v0.4/backends/{name}": one}
    async with serve(routes) as base, IonQClient(base_url=base, max_retries=0) as client:
        first = await client.get_backends()  # the list failed: every name asked by name
        assert sorted(first) == sorted(BackendName)
        fails = False
        asked.clear()  # the round above asked it by name
        second = await client.get_backends()
        assert sorted(second) == sorted(BackendName) and not second.errors
    assert waited_out == []


async def test_a_list_that_is_no_array_is_no_news_of_the_fleet() -> None:
    """A 200 whose body is no array loses no name: the names the last list gave are asked by
    name, as when the list fails, and every snapshot key is a plain `str`."""
    broken = False
    extra = "qpu.new-1"  # a name only the list knows

    async def listing(request: web.Request) -> web.Response:
        if broken:
            return web.json_response({"backends": "moved"})
        return web.json_response([backend(n) for n in [*map(str, BackendName), extra]])

    async def one(request: web.Request) -> web.Response:
        return web.json_response(backend(request.match_info["name"]))

    routes = {"/v0.4/backends": listing, "/v0.4/backends/{name}": one}
    async with serve(routes) as base, IonQClient(base_url=base, max_retries=0) as client:
        before = await client.get_backends()
        broken = True
        for _ in range(2):  # and again: the broken list did not replace what was learnt
            after = await client.get_backends()
            assert sorted(after) == sorted(before) and extra in after and not after.errors
            assert {type(name) for name in after} == {str}
