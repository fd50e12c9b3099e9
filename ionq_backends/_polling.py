"""`poll()` and `watch()`: rounds of `get_backends()`, start to start, and the changes between."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from datetime import UTC, datetime

from . import _params
from ._call import Sleep
from ._models import BackendChange, BackendsSnapshot, PollRound
from ._retry import jittered
from ._watch import Watcher

__all__ = ["changes", "poll"]

Fetch = Callable[[Iterable[str] | None], Awaitable[BackendsSnapshot]]


def poll(
    fetch: Fetch,
    names: Iterable[str] | Callable[[], Iterable[str]] | None,
    *,
    interval: float,
    jitter: float,
    ignore: Iterable[str],
    sleep: Sleep,
    random: Callable[[], float],
) -> AsyncGenerator[PollRound, None]:
    """`IonQClient.poll()`: its arguments checked now, its rounds run when iterated."""
    _params.finite("interval", interval)
    if not 0.0 <= _params.finite("jitter", jitter, inclusive=True) < 1.0:
        raise ValueError(f"jitter must be in [0, 1), got {jitter!r}")
    watcher = Watcher(frozenset(ignore))
    fixed = None if names is None or callable(names) else _params.backend_names(names)

    def choose() -> Iterable[str] | None:  # None: the whole fleet
        return names() if callable(names) else fixed

    return rounds(fetch, choose, interval=interval, jitter=jitter, watcher=watcher, sleep=sleep,
                  random=random)  # fmt: skip


async def rounds(
    fetch: Fetch,
    names: Callable[[], Iterable[str] | None],
    *,
    interval: float,
    jitter: float,
    watcher: Watcher,
    sleep: Sleep,
    random: Callable[[], float],
) -> AsyncGenerator[PollRound, None]:
    """`fetch(names())` every `interval` seconds (jittered), each round as a `PollRound`."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        started_at = datetime.now(UTC)
        snapshot = await fetch(names())
        found = tuple(watcher.update(snapshot))
        yield PollRound(snapshot, found, started_at, loop.time() - started)
        delay = started + jittered(interval, jitter, random) - loop.time()
        if delay > 0:
            await sleep(delay)


async def changes(polled: AsyncGenerator[PollRound, None]) -> AsyncGenerator[BackendChange, None]:
    """Every change of every round of `polled`."""
    try:
        async for poll_round in polled:
            for change in poll_round.changes:
                yield change
    finally:
        await polled.aclose()
