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
        snapshot = await client.get_backends()  # every BackendName, concurrently
        for name, backend in snapshot.items():
            wait = backend.queue_time  # average_queue_time read as milliseconds
            queue = "-" if wait is None else f"{wait.total_seconds() / 60:.0f} min"
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
