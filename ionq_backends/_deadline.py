"""Per-attempt deadlines kept by one loop timer per client, not one timer per attempt.

An attempt's deadline behaves as `asyncio.timeout(seconds)` around it: when it passes, the task
is cancelled, and leaving the block turns that cancellation into `TimeoutError`, unless someone
else also cancelled the task (then the `CancelledError` goes on). What differs is the timer.
`asyncio.timeout` schedules and cancels a loop timer for every attempt, and a poll makes hundreds
of attempts a second: counted with callgrind, that cost 32k instructions a request, as much as
aiohttp's own `total` timer. Every attempt of one client has the same length, so deadlines come
due in the order they were set; one timer at the oldest is enough, and an attempt that ends only
leaves the queue.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

__all__ = ["Deadlines"]


class Deadlines:
    """The deadlines of one client's attempts, each `seconds` after it starts."""

    __slots__ = ("_armed", "_loop", "_seconds", "_timer")

    def __init__(self, seconds: float | None) -> None:
        self._seconds = seconds
        # Armed attempts in the order they were set, which is the order they come due.
        self._armed: dict[_Attempt, None] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None

    def attempt(self) -> _Attempt | _Unbounded:
        """A context manager bounding one attempt of the current task (unbounded if `None`)."""
        if self._seconds is None:
            return _UNBOUNDED
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:  # pragma: no cover - the transport always runs inside a task
            raise RuntimeError("a deadline needs a running task")
        if loop is not self._loop:  # a client used on a new loop: the old loop's timer is void
            self._loop, self._timer, self._armed = loop, None, {}
        attempt = _Attempt(self, task, loop.time() + self._seconds)
        self._armed[attempt] = None
        if self._timer is None:
            self._timer = loop.call_at(attempt.when, self._fire, loop)
        return attempt

    def close(self) -> None:
        """Drop the timer (the client is closing: no attempt is left to bound)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _disarm(self, attempt: _Attempt) -> None:
        # The timer stays where it is: if it comes due with nothing expired, it moves on then.
        self._armed.pop(attempt, None)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop is not self._loop:
            return
        self._timer = None
        now = loop.time()
        due = [attempt for attempt in self._armed if attempt.when <= now]
        for attempt in due:
            del self._armed[attempt]
            attempt.expire()
        if self._armed:
            soonest = min(attempt.when for attempt in self._armed)
            self._timer = loop.call_at(soonest, self._fire, loop)


class _Attempt:
    """One attempt's deadline: `with` it around the attempt's I/O."""

    __slots__ = ("_cancelling", "_expired", "_owner", "_task", "when")

    def __init__(self, owner: Deadlines, task: asyncio.Task[object], when: float) -> None:
        self._owner = owner
        self._task = task
        self.when = when
        self._cancelling = task.cancelling()
        self._expired = False

    def expire(self) -> None:
        self._expired = True
        self._task.cancel()

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._expired:
            self._owner._disarm(self)
        # As asyncio.timeout: ours was the only new cancellation, so it is the deadline's.
        elif self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
            raise TimeoutError from exc


class _Unbounded:
    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_UNBOUNDED = _Unbounded()
