"""`_signals`: the event loop a command runs on, and how SIGINT and SIGTERM stop it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import types

import pytest

from ionq_backends._signals import Stop, run_loop


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
