"""`_signals`: the event loop a command runs on, how SIGINT and SIGTERM stop it, and how a
command stops a task of its own (`cancel_and_wait`)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import types

import pytest

from ionq_backends._signals import Stop, cancel_and_wait, run_loop


async def _answer() -> int:
    return 42


def test_run_loop_runs_a_coroutine_on_asyncio_without_uvloop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop: ImportError
    assert run_loop(_answer()) == 42


def test_run_loop_runs_on_uvloop_when_it_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[asyncio.AbstractEventLoop] = []

    def new_event_loop() -> asyncio.AbstractEventLoop:
        made.append(asyncio.new_event_loop())
        return made[-1]

    stub = types.ModuleType("uvloop")
    stub.new_event_loop = new_event_loop  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "uvloop", stub)

    async def on() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    assert run_loop(on()) is made[0]  # the loop uvloop made ran it
    assert made[0].is_closed()


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 0)])
async def test_each_signal_stops_with_the_status_it_means(sig: signal.Signals, status: int) -> None:
    stop = Stop()
    stop.install()
    loop = asyncio.get_running_loop()
    try:
        os.kill(os.getpid(), sig)
        async with asyncio.timeout(10):
            assert await stop.wait() == status
    finally:
        for handled in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(handled)


async def test_installing_off_the_main_thread_is_no_error() -> None:
    def install_elsewhere() -> None:
        async def install() -> None:
            Stop().install()  # signals belong to the main thread: nothing is installed

        asyncio.run(install())

    await asyncio.to_thread(install_elsewhere)


async def _slow_to_end(started: asyncio.Event, ending: asyncio.Event, ended: asyncio.Event) -> None:
    """A task that, once cancelled, takes until `ended` is set to end (a flush, a close)."""
    try:
        started.set()
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        ending.set()
        await ended.wait()
        raise


async def test_cancel_and_wait_waits_for_every_task_to_end() -> None:
    started, ending, ended = asyncio.Event(), asyncio.Event(), asyncio.Event()
    slow = asyncio.create_task(_slow_to_end(started, ending, ended))
    quick = asyncio.create_task(asyncio.Event().wait())
    await started.wait()
    stopping = asyncio.create_task(cancel_and_wait(slow, quick))
    await ending.wait()
    assert quick.cancelled() and not slow.done() and not stopping.done()
    ended.set()
    await stopping  # no error: both ended by their own cancels
    assert slow.cancelled()


async def test_cancel_and_wait_never_swallows_the_callers_own_cancel() -> None:
    """A cancel of the caller landing while it waits (Ctrl-C during a teardown) goes on up;
    `with suppress(CancelledError): await task` would end the caller as if nothing happened."""
    started, ending, ended = asyncio.Event(), asyncio.Event(), asyncio.Event()
    slow = asyncio.create_task(_slow_to_end(started, ending, ended))
    await started.wait()
    stopping = asyncio.create_task(cancel_and_wait(slow))
    await ending.wait()  # the caller is waiting for the task's end
    stopping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopping
    assert stopping.cancelled()
    ended.set()
    with pytest.raises(asyncio.CancelledError):
        await slow


async def test_cancel_and_wait_raises_what_a_task_had_failed_with_after_all_ended() -> None:
    async def fails() -> None:
        raise LookupError("the task's own failure")

    failed = asyncio.create_task(fails())
    running = asyncio.create_task(asyncio.Event().wait())
    await asyncio.wait([failed])
    with pytest.raises(LookupError, match=r"^the task's own failure$"):
        await cancel_and_wait(failed, running)
    assert running.cancelled()


async def test_cancel_and_wait_of_no_task_returns_at_once() -> None:
    await cancel_and_wait()
