"""A benchmark server process: the emulator, plus `--backends N` copies of qpu.forte-1 named
`qpu.bench-<i>`, until stdin closes.

Prints one JSON line `{"base_url": ...}` once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from ionq_backends.emulator import Emulator
from ionq_backends.emulator._fleet import default_fleet


async def serve(latency: float, backends: int) -> None:
    # No request log: its growth would slow the server while the first figures run.
    async with Emulator(latency=latency, record_requests=False) as emulator:
        like = default_fleet()["qpu.forte-1"]  # so that each answer is the usual backend's
        for i in range(backends):
            emulator.set_backend(f"qpu.bench-{i}", **like.fields, **like.extra)
        print(json.dumps({"base_url": emulator.base_url}), flush=True)
        # Stop when the parent closes our stdin (or dies): no orphan servers.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--backends", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(args.latency, args.backends))


if __name__ == "__main__":
    main()
