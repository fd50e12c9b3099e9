"""`Deadlines`: one loop timer per client, each attempt bounded as by `asyncio.timeout`.

The loop's clock is moved by hand (`ClockLoop.advance`), so that no test waits for real time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from ionq_backends._deadline import Deadlines

SECONDS = 10.0


class ClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock the test moves forward."""

    def __init__(self) -> None:
        super().__init__()
        self.offset = 0.0

    def time(self) -> float:
        return super().time() + self.offset

    async def advance(self, seconds: float) -> None:
        """Move the clock on, and return once the timers then due have run."""
        self.offset += seconds
        after = self.create_future()
        self.call_at(self.time(), after.set_result, None)
        await after


def run(test: Callable[[ClockLoop], Awaitable[Any]]) -> Any:
    with asyncio.Runner(loop_factory=ClockLoop) as runner:
        loop = runner.get_loop()
        assert isinstance(loop, ClockLoop)
        return runner.run(test(loop))


async def hang(deadlines: Deadlines, entered: asyncio.Event | None = None) -> None:
    with deadlines.attempt():
        if entered is not None:
            entered.set()
        await asyncio.Event().wait()


async def started(loop: ClockLoop, deadlines: Deadlines) -> asyncio.Task[None]:
    entered = asyncio.Event()
    task = loop.create_task(hang(deadlines, entered))
    await entered.wait()
    return task


def test_an_attempt_past_its_deadline_raises_timeout_error() -> None:
    async def scenario(loop: ClockLoop) -> None:
        deadlines = Deadlines(SECONDS)
        task = await started(loop, deadlines)
        await loop.advance(SECONDS * 0.9)
        assert not task.done()  # never early
        await loop.advance(SECONDS * 0.2)
        with pytest.raises(TimeoutError):
            await task
        assert task.cancelling() == 0  # the deadline's cancellation was taken back

    run(scenario)


def test_an_attempt_done_in_time_is_untouched() -> None:
    async def scenario(loop: ClockLoop) -> str:
        deadlines = Deadlines(SECONDS)
        with deadlines.attempt():
            pass
        await loop.advance(SECONDS * 2)  # its deadline passes after it ended
        task = asyncio.current_task()
        assert task is not None and task.cancelling() == 0
        await asyncio.sleep(0)  # a cancellation left behind would land at this await
        return "done"

    assert run(scenario) == "done"


def test_the_timer_moves_on_to_the_next_attempt_when_the_first_ended_early() -> None:
    async def scenario(loop: ClockLoop) -> None:
        deadlines = Deadlines(SECONDS)
        with deadlines.attempt():  # sets the one timer, at its own deadline
            pass
        await loop.advance(SECONDS / 2)
        late = await started(loop, deadlines)
        await loop.advance(SECONDS * 0.6)  # the timer comes due: nothing has expired yet
        assert not late.done()
        await loop.advance(SECONDS * 0.5)  # the late attempt's own deadline
        with pytest.raises(TimeoutError):
            await late

    run(scenario)


def test_every_attempt_of_many_expires_and_only_those_due() -> None:
    async def scenario(loop: ClockLoop) -> None:
        deadlines = Deadlines(SECONDS)
        first = [await started(loop, deadlines) for _ in range(20)]
        await loop.advance(SECONDS / 2)
        second = [await started(loop, deadlines) for _ in range(20)]
        await loop.advance(SECONDS * 0.6)
        await asyncio.wait(first)
        assert all(isinstance(t.exception(), TimeoutError) for t in first)
        assert not any(t.done() for t in second)
        await loop.advance(SECONDS)
        await asyncio.wait(second)
        assert all(isinstance(t.exception(), TimeoutError) for t in second)

    run(scenario)


@pytest.mark.parametrize("cancel_first", [True, False])
def test_a_callers_cancel_beside_the_deadline_stays_a_cancel(cancel_first: bool) -> None:
    async def scenario(loop: ClockLoop) -> None:
        deadlines = Deadlines(SECONDS)
        task = await started(loop, deadlines)
        if cancel_first:
            task.cancel()
        loop.offset += SECONDS * 2  # due, with the caller's cancel in the same iteration
        if not cancel_first:
            loop.call_at(loop.time(), task.cancel)
        with pytest.raises(asyncio.CancelledError):
            await task

    run(scenario)


def test_no_seconds_means_no_deadline() -> None:
    async def scenario(loop: ClockLoop) -> None:
        deadlines = Deadlines(None)
        task = await started(loop, deadlines)
        await loop.advance(1e9)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(scenario)


def test_one_deadlines_serves_a_second_loop() -> None:
    deadlines = Deadlines(SECONDS)

    async def scenario(loop: ClockLoop) -> None:
        task = await started(loop, deadlines)
        await loop.advance(SECONDS * 2)
        with pytest.raises(TimeoutError):
            await task

    async def left_hanging(loop: ClockLoop) -> None:
        await started(loop, deadlines)  # the runner cancels it as the loop closes

    run(left_hanging)
    run(scenario)


def test_close_drops_the_timer() -> None:
    async def scenario(loop: ClockLoop) -> None:
        deadlines = Deadlines(SECONDS)
        task = await started(loop, deadlines)
        deadlines.close()
        await loop.advance(SECONDS * 2)
        assert not task.done()  # a closed client's transport has no attempt left to bound
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(scenario)
