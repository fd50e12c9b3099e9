"""pytest plugin (entry point `pytest11`): the `ionq_emulator` fixture.

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
    from .emulator import Emulator

    @pytest_asyncio.fixture
    async def ionq_emulator() -> AsyncIterator[Emulator]:
        """A running IonQ API emulator with the default fleet; point a client at `.base_url`."""
        async with Emulator() as emulator:
            yield emulator
