"""Print IonQ backend status changes as they happen.

python examples/poll_status.py                   # embedded emulator, with a scripted outage
python examples/poll_status.py --live --interval 60
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from datetime import UTC, datetime

import ionq_backends as iq
from ionq_backends.emulator import Emulator


def describe(change: iq.BackendChange) -> str:
    if change.error is not None:
        return f"{change.name}: ERROR {change.error}"
    assert change.current is not None
    if change.previous is None:
        return f"{change.name}: {change.current.status} ({change.current.qubits} qubits)"
    if not change.changed_fields:
        return f"{change.name}: recovered, {change.current.status}"
    diffs = ", ".join(
        f"{f} {getattr(change.previous, f)} -> {getattr(change.current, f)}"
        for f in change.changed_fields
    )
    return f"{change.name}: {diffs}"


async def watch(base_url: str | None, interval: float, max_events: int | None) -> None:
    async with iq.IonQClient(base_url=base_url) as client:
        seen = 0
        async for change in client.watch(interval=interval):
            print(f"{datetime.now(UTC):%H:%M:%S}  {describe(change)}", flush=True)
            seen += 1
            if max_events is not None and seen >= max_events:
                return


async def outage(emulator: Emulator, interval: float) -> None:
    """Take qpu.aria-1 down and bring it back, so the demo has something to show."""
    await asyncio.sleep(interval * 1.5)
    emulator.set_backend("qpu.aria-1", status="unavailable")
    await asyncio.sleep(interval * 2)
    emulator.set_backend("qpu.forte-1", status=36)  # a malformed answer: its error
    await asyncio.sleep(interval * 2)
    emulator.set_backend("qpu.aria-1", status="available")
    emulator.set_backend("qpu.forte-1", qubits=36)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", action="store_true", help="poll api.ionq.co")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between rounds")
    parser.add_argument("--max-events", type=int, default=None, help="stop after N events")
    args = parser.parse_args()
    if args.live:
        await watch(None, args.interval, args.max_events)
        return
    async with Emulator() as emulator, asyncio.TaskGroup() as group:
        script = group.create_task(outage(emulator, args.interval))
        await watch(emulator.base_url, args.interval, args.max_events)
        script.cancel()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
