"""How a command runs its event loop (uvloop when the `speedups` extra is there), how a
long-running one stops (SIGINT (Ctrl-C) or SIGTERM, and the exit status each means), and how a
task of its own is stopped (`cancel_and_wait`)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["Stop", "cancel_and_wait", "run_loop"]

T = TypeVar("T")


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, on uvloop when it is installed. Only the command line and `serve`
    call this: a library never chooses its caller's event loop."""
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        result: T = runner.run(main)
    return result


# Ctrl-C ends a command as the shell reports an interrupt (128 + SIGINT); SIGTERM is how a
# service manager stops a service on purpose, so it is a success.
_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 0}


class Stop:
    """Set by SIGINT or SIGTERM once installed on the running loop."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.status = 0

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        for sig, status in _STATUS.items():
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
                loop.add_signal_handler(sig, self._set, status)

    def _set(self, status: int) -> None:
        self.status = status
        self._event.set()

    async def wait(self) -> int:
        """Wait for a signal; return the exit status it means."""
        await self._event.wait()
        return self.status


async def cancel_and_wait(*tasks: asyncio.Task[Any]) -> None:
    """Cancel `tasks` and wait until every one has ended; raise the first error one ended with.

    `with suppress(CancelledError): await task` would also swallow a cancel of the caller that
    lands while it waits (Ctrl-C during a teardown): here only the tasks' own cancels are
    absorbed, and the caller's propagates.
    """
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)
    for task in tasks:
        if not task.cancelled() and (error := task.exception()) is not None:
            raise error
