"""An IonQ API emulator for tests and offline runs: a real aiohttp.web server on loopback.

async with Emulator() as emulator:
    async with IonQClient(base_url=emulator.base_url) as client:
        ...
"""

from ._fleet import OMIT
from ._scenarios import SCENARIOS, Scenario, Step
from ._server import Emulator, RecordedRequest

__all__ = ["OMIT", "SCENARIOS", "Emulator", "RecordedRequest", "Scenario", "Step"]
