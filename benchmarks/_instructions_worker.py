"""One side of the instruction benchmark, run under callgrind by `benchmarks.instructions`.

    python -m benchmarks._instructions_worker --side sdk|bare --base-url URL --warmup W --count N
        [--in-flight K]

It makes W warm-up GETs, then N more, against a server in another process, and prints one JSON
line describing what it fetched. The GETs of a batch name distinct backends (`qpu.bench-<i>`,
which the server holds): identical GETs in flight would share one request (single-flight), and
the figure is the cost of a request. It does nothing else, so that two runs that
differ only in N differ only by the requests between them (see `benchmarks.instructions`).

With K > 1 (32 by default, as the overhead figure) each batch is gathered at once: the SDK with
`max_concurrency=K`, the baseline under a semaphore of K and a connector limit of K. With K = 1
both make their requests one after another in a plain loop, the SDK with every default.

`--loop uvloop` runs the event loop on uvloop, and `--json orjson` makes `json.loads` orjson's in
this process, whichever code calls it through the `json` module (the SDK's decoder also uses
orjson by itself when it is installed); `--json json` hides orjson from the process. Both apply
to whichever side runs, so the runner passes them to the SDK side only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

# What a hand-written client with a 30 s deadline passes: the SDK's `timeout=30.0` as documented
# (total=T, connect=min(10, T), sock_read=T). The baseline keeps it even if the SDK changes how it
# spends its deadline, so that the comparison stays with the code a user would write.
BASELINE_TIMEOUT = {"total": 30.0, "connect": 10.0, "sock_read": 30.0}
NAME = "qpu.forte-1"  # the backend the structuring side reads


def names(count: int) -> list[str]:
    """The backends one batch asks for: each once, so that no two GETs are identical (the
    server holds them: `benchmarks._server --backends`)."""
    return [f"qpu.bench-{i}" for i in range(count)]


async def sdk(base_url: str, warmup: int, count: int, in_flight: int) -> Any:
    import ionq_backends
    from ionq_backends import IonQClient

    if in_flight == 1:  # every default, as a user writes it
        client = IonQClient(base_url=base_url)
    else:  # the overhead figure's shape: many calls at once, the client bounding them
        client = IonQClient(base_url=base_url, max_concurrency=in_flight)
    async with client:
        last = None
        for batch in (warmup, count):
            if in_flight == 1:
                for name in names(batch):
                    last = await client.get_backend(name)
            else:
                results = await asyncio.gather(*map(client.get_backend, names(batch)))
                last = results[-1]
        return {
            "name": last.name if last is not None else None,
            "measured": ionq_backends.__file__,  # which tree: a scratch copy runs from its own
        }


async def bare(base_url: str, warmup: int, count: int, in_flight: int) -> Any:
    import aiohttp

    root = f"{base_url}/v0.4/backends/"
    timeout = aiohttp.ClientTimeout(**BASELINE_TIMEOUT)
    connector = aiohttp.TCPConnector(limit=max(in_flight, 8))  # the SDK's pool, never smaller
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        gate = asyncio.Semaphore(in_flight)

        async def one(name: str) -> Any:
            # Kept, as the SDK keeps its Backend: discarding it would do less than any client.
            async with session.get(root + name) as response:
                return json.loads(await response.read())

        async def bounded(name: str) -> Any:
            async with gate:  # what a hand-written fan-out needs to stay bounded
                return await one(name)

        last = None
        for batch in (warmup, count):
            if in_flight == 1:
                for name in names(batch):
                    last = await one(name)
            else:
                results = await asyncio.gather(*map(bounded, names(batch)))
                last = results[-1]
        return {"name": last["backend"] if last is not None else None}


async def structure(base_url: str, warmup: int, count: int, in_flight: int) -> Any:
    """No request: one v0.4 backend, as the emulator renders it, structured W then N times
    through the converter a client uses (its hook taken once, as the client takes it)."""
    from ionq_backends import Backend
    from ionq_backends._wire import shared_converter
    from ionq_backends._wire.converter import structurer
    from ionq_backends.emulator._fleet import default_fleet
    from ionq_backends.emulator._versions import RENDERINGS

    data = RENDERINGS["v0.4"].backend(default_fleet()[NAME], verbose=False, has_key=True)
    read = structurer(shared_converter("v0.4"), Backend)
    last = None
    for batch in (warmup, count):
        for _ in range(batch):
            last = read(data)
    return {"name": last.name if last is not None else None}


SIDES: dict[str, Callable[[str, int, int, int], Awaitable[Any]]] = {
    "sdk": sdk,
    "bare": bare,
    "structure": structure,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", choices=sorted(SIDES), required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--json", choices=("json", "orjson"), default="json")
    args = parser.parse_args()
    if args.json == "orjson":
        import orjson

        json.loads = orjson.loads  # type: ignore[assignment]
    else:
        # The run-time dependencies alone: the SDK must not find the `speedups` extra's orjson
        # even where it is installed (its decoder looks for it at import).
        sys.modules["orjson"] = None  # type: ignore[assignment]
    loop_factory = None
    if args.loop == "uvloop":
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        outcome = runner.run(
            SIDES[args.side](args.base_url, args.warmup, args.count, args.in_flight)
        )
    print(json.dumps({"side": args.side, "count": args.count, **outcome}), flush=True)


if __name__ == "__main__":
    main()
