"""How a long-running command stops: SIGINT (Ctrl-C) or SIGTERM, and the exit status each means."""

from __future__ import annotations

import asyncio
import contextlib
import signal

__all__ = ["Stop"]

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
