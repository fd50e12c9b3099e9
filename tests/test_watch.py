"""watch(): rounds, changes, errors and recovery, cadence, overlap and cancellation."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any

import pytest
from aiohttp import web

from ionq_backends import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    Backend,
    BackendChange,
    BackendsSnapshot,
    IonQClient,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from ionq_backends._constants import GONE_AFTER_ROUNDS
from ionq_backends._watch import Watcher
from ionq_backends.emulator import Emulator

from . import factories
from .conftest import Hang, ionq_tasks, serve


class Ticker:
    """An injected sleep: each call records its delay and parks until the test calls `tick()`."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.asleep = asyncio.Event()
        self._go = asyncio.Event()

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        self._go.clear()
        self.asleep.set()
        await self._go.wait()

    async def next_round(self) -> None:
        """Wait until the watcher sleeps, then let the next round start."""
        await self.asleep.wait()
        self.asleep.clear()
        self._go.set()


async def until_it_sleeps(stream: Any, ticker: Ticker) -> None:
    """Ask `stream` for its next item until it sleeps between rounds, then close it."""
    pending = asyncio.ensure_future(anext(stream))
    await ticker.asleep.wait()
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    await stream.aclose()


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
async def client(ionq_emulator: Emulator, ticker: Ticker) -> AsyncIterator[IonQClient]:
    async with IonQClient(base_url=ionq_emulator.base_url, sleep=ticker.sleep, max_retries=0,
                          random=lambda: 0.5) as c:  # fmt: skip
        yield c


NAMES = ["qpu.aria-1", "qpu.forte-1"]


async def first_round(stream: Any, count: int = len(NAMES)) -> list[BackendChange]:
    return [await anext(stream) for _ in range(count)]


async def test_first_round_yields_every_backend_once(client: IonQClient) -> None:
    stream = client.watch(NAMES, interval=60)
    events = await first_round(stream)
    await stream.aclose()
    assert [e.name for e in events] == NAMES
    assert all(e.previous is None and isinstance(e.current, Backend) for e in events)
    assert all(e.changed_fields == () and e.error is None for e in events)


async def test_status_flip_yields_one_event_with_changed_fields(
    client: IonQClient, ionq_emulator: Emulator, ticker: Ticker
) -> None:
    stream = client.watch(NAMES, interval=60)
    await first_round(stream)
    pending = asyncio.ensure_future(anext(stream))
    async with asyncio.timeout(10):
        for _ in range(3):  # three quiet rounds: no event
            await ticker.next_round()
        await ticker.asleep.wait()
        assert not pending.done()
        assert sum(r.path == "/v0.4/backends/qpu.aria-1" for r in ionq_emulator.requests) == 4
        ionq_emulator.set_backend("qpu.aria-1", status="unavailable", average_queue_time=5)
        await ticker.next_round()
        event = await pending
    await stream.aclose()
    assert event.name == "qpu.aria-1"
    assert event.previous is not None and event.previous.status == "available"
    assert event.current is not None and event.current.status == "unavailable"
    assert event.changed_fields == ("status",)  # queue time ignored by default


async def test_queue_time_counts_when_not_ignored(
    client: IonQClient, ionq_emulator: Emulator, ticker: Ticker
) -> None:
    stream = client.watch(["qpu.aria-1"], interval=60, ignore=())
    await first_round(stream, 1)
    ionq_emulator.set_backend("qpu.aria-1", average_queue_time=42, surprise=True)
    pending = asyncio.ensure_future(anext(stream))
    await ticker.next_round()
    event = await pending
    await stream.aclose()
    assert event.changed_fields == ("average_queue_time", "extra")


async def test_error_once_then_recovery(
    client: IonQClient, ionq_emulator: Emulator, ticker: Ticker
) -> None:
    async with asyncio.timeout(10):
        await _error_then_recovery(client, ionq_emulator, ticker)


async def _error_then_recovery(client: IonQClient, ionq_emulator: Emulator, ticker: Ticker) -> None:
    stream = client.watch(NAMES, interval=60)
    before = {e.name: e.current for e in await first_round(stream)}
    ionq_emulator.inject("/v0.4/backends/qpu.forte-1", status=500, times=2)

    pending = asyncio.ensure_future(anext(stream))
    await ticker.next_round()
    failed = await pending
    assert failed.name == "qpu.forte-1"
    assert isinstance(failed.error, ServerError)
    assert failed.current is None and failed.previous == before["qpu.forte-1"]

    # Same error again (new request id): no event. Then a different error: one event.
    pending = asyncio.ensure_future(anext(stream))
    await ticker.next_round()
    await ticker.asleep.wait()
    assert not pending.done()
    ionq_emulator.remove_backend("qpu.forte-1")
    await ticker.next_round()
    changed = await pending
    assert isinstance(changed.error, NotFoundError)

    ionq_emulator.set_backend("qpu.forte-1", qubits=36)
    pending = asyncio.ensure_future(anext(stream))
    await ticker.next_round()
    recovered = await pending
    await stream.aclose()
    assert recovered.error is None
    assert recovered.previous == before["qpu.forte-1"]
    assert recovered.current is not None and recovered.current.name == "qpu.forte-1"


async def test_rate_limited_round_costs_only_that_backend(
    client: IonQClient, ionq_emulator: Emulator
) -> None:
    ionq_emulator.inject("/v0.4/backends/qpu.forte-1", status=429, retry_after=3600)
    stream = client.watch(NAMES, interval=60)
    events = await first_round(stream)
    await stream.aclose()
    by_name = {e.name: e for e in events}
    aria, forte = by_name["qpu.aria-1"], by_name["qpu.forte-1"]
    assert aria.current is not None and aria.current.name == "qpu.aria-1"
    assert (aria.previous, aria.error, aria.changed_fields) == (None, None, ())
    assert (forte.previous, forte.current, forte.changed_fields) == (None, None, ())
    assert isinstance(forte.error, RateLimitError) and forte.error.retry_after == 3600.0


@pytest.mark.parametrize(
    ("draw", "low", "high"), [(0.5, 59.0, 60.0), (1.0, 65.0, 66.0), (0.0, 53.0, 54.0)]
)
async def test_cadence_is_start_to_start_with_jitter(
    ionq_emulator: Emulator, ticker: Ticker, draw: float, low: float, high: float
) -> None:
    async with IonQClient(base_url=ionq_emulator.base_url, sleep=ticker.sleep,
                          random=lambda: draw) as client:  # fmt: skip
        stream = client.watch(["qpu.aria-1"], interval=60, jitter=0.1)
        await first_round(stream, 1)
        await until_it_sleeps(stream, ticker)
    (delay,) = ticker.delays
    assert low < delay <= high


async def test_slow_rounds_run_back_to_back_and_never_overlap() -> None:
    in_flight = peak = served = 0
    rounds_done = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        nonlocal in_flight, peak, served
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)  # the server is slower than the interval
        in_flight -= 1
        served += 1
        if served == 5:
            rounds_done.set()
        return web.json_response({"backend": "x", "status": "available", "qubits": served})

    delays: list[float] = []

    async def record(delay: float) -> None:
        delays.append(delay)
        await asyncio.sleep(delay)

    async with serve({"/v0.4/backends/{name}": slow}) as base:
        async with IonQClient(base_url=base, sleep=record) as client:
            stream = client.watch(["x"], interval=0.01, jitter=0.0)
            events = [await anext(stream) for _ in range(5)]
            await stream.aclose()
    assert rounds_done.is_set()
    assert peak == 1
    assert delays == []  # every round overran the interval: no sleep between them
    assert [e.current.qubits for e in events if e.current] == [1, 2, 3, 4, 5]


async def test_cancelling_a_watch_mid_round_leaves_nothing_running() -> None:
    hang = Hang()
    async with serve({"/v0.4/backends/{name}": hang.handle}, handler_cancellation=True) as base:
        async with IonQClient(base_url=base) as client:

            async def consume() -> None:
                async for _event in client.watch(["a", "b"], interval=1):
                    pass

            task = asyncio.create_task(consume())
            async with asyncio.timeout(10):
                await hang.arrived.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert ionq_tasks() == []


@pytest.mark.parametrize(
    ("given", "refusal"),
    [
        ({"interval": 0}, "interval must be a finite number > 0, got 0"),
        ({"interval": math.nan}, "interval must be a finite number > 0, got nan"),
        ({"jitter": 1.0}, "jitter must be in [0, 1), got 1.0"),
        ({"jitter": -0.1}, "jitter must be a finite number >= 0, got -0.1"),
        ({"jitter": math.inf}, "jitter must be a finite number >= 0, got inf"),
    ],
)
def test_poll_arguments_are_refused_by_name(given: dict[str, Any], refusal: str) -> None:
    with pytest.raises(ValueError) as raised:  # noqa: PT011 (the whole message is checked)
        IonQClient().poll(**given)
    assert str(raised.value) == refusal


async def test_a_round_starts_in_utc_and_a_short_interval_is_still_slept(
    ionq_emulator: Emulator, ticker: Ticker
) -> None:
    async with IonQClient(base_url=ionq_emulator.base_url, sleep=ticker.sleep) as client:
        rounds = client.poll(["qpu.aria-1"], interval=0.5, jitter=0.0)
        first = await anext(rounds)
        await until_it_sleeps(rounds, ticker)
    assert first.started_at.tzinfo is UTC
    (delay,) = ticker.delays  # what is left of the interval after the round, however short
    assert 0 < delay <= 0.5


def test_watch_arguments_are_checked() -> None:
    client = IonQClient()
    with pytest.raises(ValueError, match="interval"):
        client.watch(interval=0)
    with pytest.raises(ValueError, match="jitter"):
        client.watch(jitter=1.0)
    with pytest.raises(ValueError, match="ignore names no Backend field"):
        client.watch(ignore={"queue"})


def backend(**fields: Any) -> Backend:
    return factories.backend(**{"name": "a", **fields})


def test_watcher_pure_sequence() -> None:
    """Each round's events, whole: who, what before, what now, why, and which fields changed."""
    watcher = Watcher(frozenset({"average_queue_time"}))
    first, queued = backend(), backend(average_queue_time=9.0)
    down = ServerError("down", status_code=503, request_id="r1")
    same_error = ServerError("down", status_code=503, request_id="r2")  # a new request id only
    other_error = ServerError("down", status_code=502, request_id="r3")
    flipped = backend(status="unavailable", qubits=36, degraded=True)
    odd = backend(extra={"k": 1})
    rounds = [
        ({"a": first}, {}),
        ({"a": queued}, {}),  # an ignored field alone: no event
        ({}, {"a": down}),
        ({}, {"a": same_error}),  # the same error again: no event
        ({}, {"a": other_error}),  # a different one: an event
        ({"a": first}, {}),  # recovery: previous is the last good value, `queued`
        ({"a": flipped, "b": first}, {}),  # fields in declaration order; b is a first sight
        ({"a": odd, "b": first}, {}),
        ({"a": odd, "b": first}, {}),  # nothing changed
    ]
    events = [watcher.update(BackendsSnapshot(good, errors)) for good, errors in rounds]
    assert events == [
        [BackendChange("a", None, first)],
        [],
        [BackendChange("a", queued, None, down)],
        [],
        [BackendChange("a", queued, None, other_error)],
        [BackendChange("a", queued, first, None, ())],
        [BackendChange("a", first, flipped, None, ("status", "qubits", "degraded")),
         BackendChange("b", None, first)],
        [BackendChange("a", flipped, odd, None, ("status", "qubits", "degraded", "extra"))],
        [],
    ]  # fmt: skip
    assert events[2][0].error is down and events[4][0].error is other_error


def test_watcher_compares_every_field_it_is_not_told_to_ignore() -> None:
    watcher = Watcher(frozenset())
    watcher.update(BackendsSnapshot({"a": backend()}))
    (event,) = watcher.update(BackendsSnapshot({"a": backend(average_queue_time=1.0)}))
    assert event.changed_fields == ("average_queue_time",)
    assert event.previous == backend() and event.current == backend(average_queue_time=1.0)
    nan = backend(extra={"x": float("nan")})
    watcher.update(BackendsSnapshot({"a": nan}))
    assert watcher.update(BackendsSnapshot({"a": backend(extra={"x": float("nan")})})) == []


async def test_poll_yields_every_round_and_follows_a_callable_name_set() -> None:
    asked: list[list[str]] = []
    fleets = [["qpu.aria-1"], ["qpu.aria-1", "qpu.forte-1"], ["qpu.aria-1", "qpu.forte-1"]]

    def names() -> list[str]:
        asked.append(fleets[len(asked)])
        return asked[-1]

    async def instant(delay: float) -> None:
        await asyncio.sleep(0)

    async with Emulator() as emulator:
        async with IonQClient(base_url=emulator.base_url, sleep=instant) as client:
            rounds = client.poll(names, interval=1.0)
            first = await anext(rounds)
            second = await anext(rounds)
            third = await anext(rounds)
            await rounds.aclose()
    assert list(first.snapshot) == ["qpu.aria-1"]
    assert [c.name for c in first.changes] == ["qpu.aria-1"]
    # A name that joins the set is a first sight; an unchanged round has no changes.
    assert [(c.name, c.previous) for c in second.changes] == [("qpu.forte-1", None)]
    assert list(third.snapshot) == ["qpu.aria-1", "qpu.forte-1"] and third.changes == ()
    assert 0 < first.duration < 30  # a round with a request to the emulator takes some time
    assert first.started_at < second.started_at
    assert len(asked) == 3


def test_watcher_reports_every_first_sight_and_every_new_error_in_a_round() -> None:
    watcher = Watcher(frozenset())
    a, b = backend(), backend(name="b")
    assert watcher.update(BackendsSnapshot({"a": a, "b": b})) == [
        BackendChange("a", None, a),
        BackendChange("b", None, b),
    ]
    down_a = ServerError("down", status_code=503)
    down_b = ServerError("down", status_code=503)
    assert watcher.update(BackendsSnapshot({}, {"a": down_a, "b": down_b})) == [
        BackendChange("a", a, None, down_a),
        BackendChange("b", b, None, down_b),
    ]
    # a fails the same way again (no event); b fails differently (an event), after a.
    still = ServerError("down", status_code=503)
    gone = NotFoundError("gone", status_code=404)
    assert watcher.update(BackendsSnapshot({}, {"a": still, "b": gone})) == [
        BackendChange("b", b, None, gone)
    ]


def test_an_error_of_another_kind_with_the_same_words_is_a_change() -> None:
    watcher = Watcher(frozenset())
    first = ServerError("down", status_code=503)
    other_class = APIStatusError("down", status_code=503)
    no_status = APIConnectionError("down")
    timed_out = APITimeoutError("down")
    events = [
        watcher.update(BackendsSnapshot({}, {"a": error}))
        for error in (first, other_class, no_status, timed_out, APITimeoutError("down"))
    ]
    assert events == [
        [BackendChange("a", None, None, first)],
        [BackendChange("a", None, None, other_class)],
        [BackendChange("a", None, None, no_status)],
        [BackendChange("a", None, None, timed_out)],
        [],
    ]


def test_a_backend_that_fails_from_its_first_round_recovers_with_no_previous() -> None:
    watcher = Watcher(frozenset())
    error = ServerError("down", status_code=503)
    assert watcher.update(BackendsSnapshot({}, {"a": error})) == [
        BackendChange("a", None, None, error)
    ]
    assert watcher.update(BackendsSnapshot({"a": backend()})) == [
        BackendChange("a", None, backend(), None, ())
    ]
    assert watcher.update(BackendsSnapshot({"a": backend()})) == []


def test_ignore_must_name_backend_fields() -> None:
    with pytest.raises(ValueError, match=r"^ignore names no Backend field: queue, speed$"):
        Watcher(frozenset({"speed", "queue", "status"}))


# A fleet that changes: a name missing GONE_AFTER_ROUNDS rounds in a row is gone, once


def test_a_name_missing_for_long_enough_is_gone_once_then_forgotten() -> None:
    watcher = Watcher(frozenset())
    a, b = backend(), backend(qubits=36)
    events = [watcher.update(BackendsSnapshot({"a": a, "b": b}))]
    events += [watcher.update(BackendsSnapshot({"a": a})) for _ in range(GONE_AFTER_ROUNDS + 2)]
    gone = [(i, e) for i, round_ in enumerate(events) for e in round_ if e.gone]
    assert gone == [(GONE_AFTER_ROUNDS, BackendChange("b", b, None, gone=True))]  # once, at last
    # Missing one round less, nothing; back before it is gone, no event at all.
    watcher.update(BackendsSnapshot({"a": a, "b": b}))
    for _ in range(GONE_AFTER_ROUNDS - 1):
        assert watcher.update(BackendsSnapshot({"a": a})) == []
    assert watcher.update(BackendsSnapshot({"a": a, "b": b})) == []
    # A failing name counts as present: its error is news of it.
    failing = ServerError("down", status_code=503)
    for _ in range(GONE_AFTER_ROUNDS + 1):
        assert not any(e.gone for e in watcher.update(BackendsSnapshot({"a": a}, {"b": failing})))


def test_names_that_churn_every_round_cost_bounded_memory() -> None:
    watcher = Watcher(frozenset())
    gone = 0
    for i in range(1_000):
        events = watcher.update(BackendsSnapshot({f"qpu.{i}": backend()}))
        gone += sum(e.gone for e in events)
        sizes = (len(watcher._seen), len(watcher._good), len(watcher._missing))
        assert max(sizes) <= GONE_AFTER_ROUNDS + 1
    assert gone == 1_000 - GONE_AFTER_ROUNDS  # every name that left said so, once


async def test_a_list_that_fails_is_no_news_of_the_fleet(ionq_emulator: Emulator) -> None:
    """While the list fails, the names it gave last are asked for: none is taken for gone."""
    async with IonQClient(base_url=ionq_emulator.base_url, max_retries=0) as client:
        first = await client.get_backends()
        assert "qpu.tempo-1" in first  # listed, not a BackendName
        ionq_emulator.inject("/v0.4/backends", status=503, times=GONE_AFTER_ROUNDS + 1)
        watcher = Watcher(frozenset())
        watcher.update(first)
        for _ in range(GONE_AFTER_ROUNDS + 1):
            snapshot = await client.get_backends()
            assert "qpu.tempo-1" in snapshot  # asked for by name
            assert not any(e.gone for e in watcher.update(snapshot))
