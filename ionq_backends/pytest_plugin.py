"""pytest plugin (entry point `pytest11`): the `ionq_emulator` and `ionq_client` fixtures.

It needs pytest-asyncio; without it the plugin registers nothing, so installing ionq-backends
never breaks a test suite that does not use the fixture.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - exercised only without pytest-asyncio
    pass
else:
    from ._client import IonQClient
    from .emulator import Emulator

    async def _no_wait(delay: float) -> None:
        """Retries go at once: an injected 503 costs a test no real backoff."""

    @pytest_asyncio.fixture
    async def ionq_emulator() -> AsyncIterator[Emulator]:
        """A running IonQ API emulator with the default fleet; point a client at `.base_url`."""
        async with Emulator() as emulator:
            yield emulator

    @pytest_asyncio.fixture
    async def ionq_client(ionq_emulator: Emulator) -> AsyncIterator[IonQClient]:
        """An `IonQClient` on `ionq_emulator` (v0.4) whose retries do not wait."""
        async with IonQClient(base_url=ionq_emulator.base_url, sleep=_no_wait) as client:
            yield client
