"""`poll()` and `watch()`: rounds of `get_backends()`, start to start, and the changes between."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from datetime import UTC, datetime

from ._models import BackendChange, BackendsSnapshot, PollRound
from ._retry import jittered
from ._watch import Watcher

__all__ = ["changes", "rounds"]

Fetch = Callable[[Iterable[str] | None], Awaitable[BackendsSnapshot]]


async def rounds(
    fetch: Fetch,
    names: Callable[[], Iterable[str] | None],
    *,
    interval: float,
    jitter: float,
    watcher: Watcher,
    sleep: Callable[[float], Awaitable[None]],
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
