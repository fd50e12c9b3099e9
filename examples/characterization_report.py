"""For each QPU: its latest 1q/2q/spam fidelities, T1/T2 and connectivity, fetched in parallel.

python examples/characterization_report.py [--live] [--api-version v0.3]
"""

from __future__ import annotations

import argparse
import asyncio

import ionq_backends as iq
from ionq_backends.emulator import Emulator


def fmt(value: float | None, spec: str = ".4f") -> str:
    return "-" if value is None else format(value, spec)


async def report(base_url: str | None, api_version: str) -> None:
    async with iq.IonQClient(base_url=base_url, api_version=api_version) as client:
        backends = [b for b in await client.list_backends() if b.name.startswith("qpu.")]
        # One request per backend, all in flight at once (bounded by max_concurrency).
        latest = await asyncio.gather(
            *(client.characterization_of(b) for b in backends), return_exceptions=True
        )
    print(f"{'BACKEND':24} {'1Q':>7} {'2Q':>7} {'SPAM':>7} {'T1 s':>6} {'T2 s':>6} {'PAIRS':>6}")
    for backend, found in zip(backends, latest, strict=True):
        if isinstance(found, iq.IonQError):
            print(f"{backend.name:24} error: {found}")
            continue
        if isinstance(found, BaseException):
            raise found
        if found is None:
            print(f"{backend.name:24} no characterization")
            continue
        fid = {key: stat.value for key, stat in found.fidelity.items()}
        print(
            f"{backend.name:24} {fmt(fid.get('1q')):>7} {fmt(fid.get('2q')):>7} "
            f"{fmt(fid.get('spam')):>7} {fmt(found.timing.t1, 'g'):>6} "
            f"{fmt(found.timing.t2, 'g'):>6} {len(found.connectivity):>6}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", action="store_true", help="query api.ionq.co")
    parser.add_argument("--api-version", default="v0.4", choices=["v0.3", "v0.4"])
    args = parser.parse_args()
    if args.live:
        await report(None, args.api_version)
        return
    async with Emulator() as emulator:
        await report(emulator.base_url, args.api_version)


if __name__ == "__main__":
    asyncio.run(main())
