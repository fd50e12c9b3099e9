"""Quickstart: print the IonQ fleet.

python examples/quickstart.py          # against an embedded emulator, no network needed
python examples/quickstart.py --live   # against api.ionq.co ($IONQ_API_KEY if set)
"""

from __future__ import annotations

import asyncio
import sys

import ionq_backends as iq
from ionq_backends.emulator import Emulator


async def show(base_url: str | None) -> None:
    async with iq.IonQClient(base_url=base_url) as client:
        snapshot = await client.get_backends()  # the whole fleet, concurrently
        for name, backend in snapshot.items():
            queue = iq.format_duration(backend.queue_time)  # as the CLI prints it: "19m 41s"
            print(f"{name:24} {backend.status:12} {backend.qubits or '-':>4} qubits  queue {queue}")
        for name, error in snapshot.errors.items():
            print(f"{name:24} failed: {error}")


async def main() -> None:
    if "--live" in sys.argv:
        await show(None)
        return
    async with Emulator() as emulator:
        print(f"(embedded IonQ API emulator at {emulator.base_url})")
        await show(emulator.base_url)


if __name__ == "__main__":
    asyncio.run(main())
