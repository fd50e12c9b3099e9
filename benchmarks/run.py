"""Benchmarks: every figure is a ratio measured in this one run (the machine is shared and noisy).

    python -m benchmarks           # the full run, compared against the budget in DESIGN.md §5
    python -m benchmarks --quick   # fewer repeats and smaller counts; never fails on timing
    python -m benchmarks --instructions [--quick]   # callgrind: see benchmarks/instructions.py
    python -m benchmarks --peers [--quick]          # other IonQ clients: see benchmarks/peers.py

A full run exits 1 when a figure misses its budget. Quick mode never fails on a timed figure, but
it does judge the soak's leak check, whose verdict depends on counts only.

Results go to benchmarks/results/last.json (full runs) or last-quick.json (quick runs), and each
run prints the previous one of its own kind beside its figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from ionq_backends import Backend, BackendName, IonQClient, make_converter
from ionq_backends.emulator import Emulator
from ionq_backends.emulator._fleet import default_fleet
from ionq_backends.emulator._versions import RENDERINGS

from ._common import (
    Figure,
    load_previous,
    median,
    missed,
    report,
    results_file,
    save,
    server_process,
)

SIX = [str(n) for n in BackendName]
# What IonQClient(timeout=30.0) means, given to the bare-aiohttp side too.
SAME_TIMEOUT = aiohttp.ClientTimeout(total=30.0, connect=10.0, sock_read=30.0)


def rotated(items: list[Any], repeat: int) -> list[Any]:
    """`items` started at position `repeat`: each repeat another one goes first, so that drift
    on a shared machine hits every side alike."""
    shift = repeat % len(items)
    return items[shift:] + items[:shift]


async def fan_out(repeats: int) -> Figure:
    async with Emulator(latency=0.1) as emulator, IonQClient(base_url=emulator.base_url) as client:

        async def single() -> None:
            await client.get_backend(SIX[0])

        async def fanned() -> None:
            snapshot = await client.get_backends(SIX)
            assert len(snapshot) == 6, snapshot.errors

        async def sequential() -> None:
            for name in SIX:
                await client.get_backend(name)

        await client.get_backends(SIX)  # open the six pooled connections first
        timings: dict[Any, list[float]] = {single: [], fanned: [], sequential: []}
        for repeat in range(repeats):  # the order rotates, as the other figures alternate
            for work in rotated(list(timings), repeat):
                started = time.perf_counter()
                await work()
                timings[work].append(time.perf_counter() - started)
    one, fan, seq = (median(timings[w]) for w in (single, fanned, sequential))
    ratio = fan / one
    return Figure(
        "fan-out",
        ratio,
        "x one get_backend()",
        "<= 1.25",
        ratio <= 1.25,
        f"get_backends() {fan * 1e3:.1f} ms, one get_backend() "
        f"{one * 1e3:.1f} ms; a sequential loop (the peers' shape) {seq / one:.2f}x",
    )


async def round_trip(repeats: int) -> Figure:
    """A whole-fleet get_backends() after its first round, against one get_backend(), at 100 ms
    latency: when the list covers every name, and when it leaves two out (the live list)."""
    ratios: dict[str, float] = {}
    for shape, unlisted in (("covers", set()), ("leaves out 2", {SIX[1], SIX[2]})):
        async with Emulator(latency=0.1) as emulator:
            emulator.unlisted = unlisted
            async with IonQClient(base_url=emulator.base_url) as client:
                await client.get_backends()  # the first round learns what the list leaves out
                whole: list[float] = []
                one: list[float] = []
                for repeat in range(repeats):
                    for work, into in rotated(
                        [(client.get_backends, whole), (lambda: client.get_backend(SIX[0]), one)],
                        repeat,
                    ):
                        started = time.perf_counter()
                        await work()
                        into.append(time.perf_counter() - started)
        ratios[shape] = median(whole) / median(one)
    worst = max(ratios.values())
    return Figure(
        "round-trip",
        worst,
        "x one get_backend()",
        "<= 1.05",
        worst <= 1.05,
        "whole-fleet get_backends() after the first round, 100 ms latency: "
        + ", ".join(f"list {shape} {ratio:.3f}x" for shape, ratio in ratios.items()),
    )


async def overhead(base_url: str, calls: int, in_flight: int, repeats: int) -> Figure:
    timeout = SAME_TIMEOUT
    # Distinct backends (copies of qpu.forte-1): identical GETs in flight would share a request.
    names = [f"qpu.bench-{i}" for i in range(calls)]
    root = f"{base_url}/v0.4/backends/"

    async def sdk() -> float:
        async with IonQClient(
            base_url=base_url, max_concurrency=in_flight, timeout=timeout
        ) as client:
            await asyncio.gather(*map(client.get_backend, names[:in_flight]))
            started = time.perf_counter()
            await asyncio.gather(*map(client.get_backend, names))
            return calls / (time.perf_counter() - started)

    async def bare() -> float:
        connector = aiohttp.TCPConnector(limit=in_flight)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            gate = asyncio.Semaphore(in_flight)

            async def one(name: str) -> Any:
                # The parsed result is returned and kept, as the SDK's Backends are: a baseline
                # that discarded its data would do less work than any real client (about 3%).
                async with gate, session.get(root + name) as response:
                    return json.loads(await response.read())

            await asyncio.gather(*map(one, names[:in_flight]))
            started = time.perf_counter()
            await asyncio.gather(*map(one, names))
            return calls / (time.perf_counter() - started)

    await sdk()  # a warm-up pass of each, discarded: the server process has just started
    await bare()
    ours: list[float] = []
    theirs: list[float] = []
    for repeat in range(repeats):  # interleaved, first one then the other, so drift hits both alike
        if repeat % 2:
            theirs.append(await bare())
            ours.append(await sdk())
        else:
            ours.append(await sdk())
            theirs.append(await bare())
    ratio = median(ours) / median(theirs)
    return Figure(
        "overhead",
        ratio,
        "x bare aiohttp req/s",
        ">= 0.85",
        ratio >= 0.85,
        f"{calls} get_backend(), {in_flight} in flight, server in another process: "
        f"SDK {median(ours):.0f} req/s, bare aiohttp + json.loads {median(theirs):.0f} req/s",
    )


async def scale(base_url: str, names: int, limit: int, latency: float, repeats: int) -> Figure:
    """`get_backends()` over `names` names at `limit` in flight, against bare aiohttp doing the
    same GETs under the same bound (a connector limit and a semaphore of `limit`), alternated."""
    wanted = [f"qpu.bench-{i}" for i in range(names)]
    bound = -(-names // limit) * latency  # ceil(names / limit) round trips
    timeout = SAME_TIMEOUT
    ours: list[float] = []
    theirs: list[float] = []
    async with IonQClient(base_url=base_url, max_concurrency=limit, timeout=timeout) as client:
        connector = aiohttp.TCPConnector(limit=limit)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            gate = asyncio.Semaphore(limit)

            async def bare_one(name: str) -> Any:
                async with gate, session.get(f"{base_url}/v0.4/backends/{name}") as response:
                    return json.loads(await response.read())  # kept, as the SDK keeps Backends

            async def sdk() -> None:
                started = time.perf_counter()
                snapshot = await client.get_backends(wanted)
                ours.append(time.perf_counter() - started)
                assert len(snapshot) == names, list(snapshot.errors.values())[:3]

            async def bare() -> None:
                started = time.perf_counter()
                results = await asyncio.gather(*(bare_one(n) for n in wanted))
                theirs.append(time.perf_counter() - started)
                assert len(results) == names

            # Open both pools, and a discarded pass of each: the server process has just started.
            await client.get_backends(wanted[:limit])
            await asyncio.gather(*(bare_one(n) for n in wanted[:limit]))
            await sdk()
            await bare()
            ours.clear()
            theirs.clear()
            for repeat in range(repeats):
                for work in rotated([sdk, bare], repeat):
                    await work()
    ratio = median(ours) / median(theirs)
    return Figure(
        "scale",
        ratio,
        "x bare aiohttp, same bound",
        "<= 1.05",
        ratio <= 1.05,
        f"get_backends() over {names} names, {limit} in flight, latency {latency * 1e3:.0f} ms: "
        f"{median(ours) * 1e3:.0f} ms vs bare aiohttp + json.loads {median(theirs) * 1e3:.0f} ms "
        f"(semaphore {limit}); both vs ceil(names/limit) x latency: "
        f"{median(ours) / bound:.2f}x and {median(theirs) / bound:.2f}x",
    )


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def open_fds() -> tuple[int, int]:
    """(open file descriptors, of which sockets)."""
    fds = sockets = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        fds += 1
        sockets += target.startswith("socket:")
    return fds, sockets


async def settle(fds: tuple[int, int], tasks: int) -> None:
    """Let closed transports finish closing: loop turns, never the wall clock, so the verdict is
    the same on a loaded machine. Returns once fds and tasks are back, or after 100 turns."""
    for _ in range(100):
        gc.collect()
        if open_fds() <= fds and len(asyncio.all_tasks()) <= tasks:
            return
        await asyncio.sleep(0)


async def soak(base_url: str, polls: int, warm: int) -> Figure:
    """`polls` requests: a warm-up, then get_backends() in a loop, then watch(); then compare.

    The verdict depends on counts, never on timing, so quick mode judges it too:
    - open fds, sockets and asyncio tasks are back to their baseline once the client is closed
      (waited for in loop turns, not seconds);
    - no ResourceWarning (gc.collect() runs first, so none is left to chance);
    - live Python memory blocks (`sys.getallocatedblocks()` after gc.collect()) grow by less
      than one block per 12 requests from the end of the warm-up to the end of the soak: a
      leak of anything, once per six-name poll, grows them by at least twice that. What does
      not leak comes back to the same count give or take a few hundred blocks (the free lists'
      and pools' state at the moment of the look);
    - RSS grows by less than 10 MiB.
    watch() is stopped between two rounds, never in the middle of a request: its pacing sleep
    (an `IonQClient(sleep=...)`) parks it once enough requests were made, and it is cancelled
    there. So the state at the end is the same at any machine speed.
    """
    gc.collect()
    await asyncio.sleep(0)
    fds_before = open_fds()
    tasks_before = len(asyncio.all_tasks())
    requests = 0
    stop_at = 0
    parked = asyncio.Event()

    async def counted(session: aiohttp.ClientSession, ctx: Any, params: Any) -> None:
        nonlocal requests
        requests += 1

    async def paced(delay: float) -> None:
        """watch()'s sleep between rounds: none, until `stop_at` requests; then park."""
        if requests >= stop_at:
            parked.set()
            await asyncio.Event().wait()  # until cancelled
        await asyncio.sleep(0)

    async def watch_until(limit: int) -> None:
        nonlocal stop_at
        stop_at = limit
        parked.clear()

        async def consume() -> None:
            async for _change in client.watch(SIX, interval=1.0, jitter=0.0):
                pass

        watcher = asyncio.create_task(consume())
        await parked.wait()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(counted)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        session = aiohttp.ClientSession(trace_configs=[trace])
        async with IonQClient(base_url=base_url, session=session, sleep=paced) as client:
            while requests < warm:  # both paths warm: lazily built state is not a leak
                await client.get_backends(SIX)
            await watch_until(requests + 120)
            gc.collect()
            blocks_start, rss_start, requests_start = sys.getallocatedblocks(), rss_mib(), requests
            while requests < (requests_start + polls) // 2:
                await client.get_backends(SIX)
            await watch_until(polls)
            gc.collect()
            blocks_end, rss_end = sys.getallocatedblocks(), rss_mib()
            counted_requests = requests - requests_start
        await session.close()
        await settle(fds_before, tasks_before)
    fds_after = open_fds()
    tasks_after = len(asyncio.all_tasks())
    resource_warnings = [w for w in caught if issubclass(w.category, ResourceWarning)]
    growth = rss_end - rss_start
    blocks = blocks_end - blocks_start
    blocks_bound = counted_requests / 12
    ok = (
        growth < 10.0
        and blocks < blocks_bound
        and fds_after <= fds_before
        and tasks_after <= tasks_before
        and not resource_warnings
    )
    return Figure(
        "soak",
        growth,
        "MiB RSS growth",
        "< 10 MiB; blocks, fds, tasks back; no ResourceWarning",
        ok,
        f"{requests} requests (get_backends() then watch()); Python blocks {blocks:+d} over "
        f"the last {counted_requests} (bound {blocks_bound:.0f}); fds {fds_before[0]}->"
        f"{fds_after[0]}, sockets {fds_before[1]}->{fds_after[1]}; tasks {tasks_before}->"
        f"{tasks_after}; ResourceWarnings {len(resource_warnings)}",
        timed=False,
    )


def import_time(repeats: int) -> Figure:
    def once(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - started

    timings: dict[str, list[float]] = {
        "import ionq_backends": [],
        "import aiohttp, attrs, cattrs": [],
    }
    once("import ionq_backends")  # a discarded pass of each: bytecode caches, page cache
    once("import aiohttp, attrs, cattrs")
    for repeat in range(repeats):  # alternated, as the other figures are
        for code in rotated(list(timings), repeat):
            timings[code].append(once(code))
    ours, theirs = (median(t) for t in timings.values())
    ratio = ours / theirs
    return Figure(
        "import",
        ratio,
        "x import aiohttp, attrs, cattrs",
        "<= 1.3",
        ratio <= 1.3,
        f"{ours * 1e3:.0f} ms vs {theirs * 1e3:.0f} ms, fresh interpreters, alternated",
    )


def structuring(count: int, repeats: int) -> Figure:
    fleet = list(default_fleet().values())
    items = [
        RENDERINGS["v0.4"].backend(fleet[i % len(fleet)], verbose=False, has_key=True)
        for i in range(count)
    ]
    raw = json.dumps(items).encode()
    converter = make_converter("v0.4")

    def best(work: Callable[[], object]) -> float:
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            work()
            timings.append(time.perf_counter() - started)
        return median(timings) / count * 1e6

    decode = best(lambda: json.loads(raw))
    full = best(lambda: converter.structure(json.loads(raw), list[Backend]))
    return Figure(
        "structuring",
        full - decode,
        "us per backend",
        "(no budget)",
        None,
        f"cattrs' generated v0.4 converter {full - decode:.2f} us a backend, besides json.loads "
        f"{decode:.2f} us ({count:,} backends of the emulator's fleet in one list; instructions: "
        "--instructions)",
    )


async def measure(quick: bool) -> list[Figure]:
    repeats = 2 if quick else 5
    figures = [await fan_out(repeats)]
    print(figures[-1].name, "done", file=sys.stderr)
    figures.append(await round_trip(repeats + 4))
    print(figures[-1].name, "done", file=sys.stderr)
    calls = 300 if quick else 2_000
    with server_process(backends=calls) as base_url:
        # The noisiest figure on a shared machine: more repeats than the others.
        figures.append(await overhead(base_url, calls, 32, repeats + 4))
        print(figures[-1].name, "done", file=sys.stderr)
        figures.append(await soak(base_url, 12_000 if quick else 100_000, 1_200))
        print(figures[-1].name, "done", file=sys.stderr)
    names = 200 if quick else 1_000
    with server_process(latency=0.02, backends=names) as base_url:
        figures.append(await scale(base_url, names, 100, 0.02, repeats + 4))
        print(figures[-1].name, "done", file=sys.stderr)
    figures.append(import_time(3 if quick else 15))
    figures.append(structuring(1_000, 5 if quick else 50))
    from .churn import churn  # the monitor: the `service` extra, imported only here

    figures.append(await churn(100 if quick else 500))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small counts, never fails on timing")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--instructions",
        action="store_true",
        help="client instructions per request with callgrind, SDK vs bare aiohttp",
    )
    mode.add_argument(
        "--peers", action="store_true", help="other IonQ clients against the emulator"
    )
    parser.add_argument(
        "--loop",
        choices=("asyncio", "uvloop"),
        default="asyncio",
        help="with --instructions: the SDK side's event loop (the baseline stays on asyncio)",
    )
    parser.add_argument(
        "--json",
        choices=("json", "orjson"),
        default="json",
        help="with --instructions: json.loads in the SDK's process is orjson's",
    )
    parser.add_argument(
        "--in-flight",
        type=int,
        default=32,
        metavar="K",
        help="with --instructions: requests gathered at once (1: one after another)",
    )
    parser.add_argument(
        "--peers-python",
        metavar="PYTHON",
        help="with --peers: the interpreter that has the peers installed (default "
        "$IONQ_PEERS_PYTHON, else .venv-peers/bin/python if present, else this one)",
    )
    args = parser.parse_args(argv)
    if args.peers_python and not args.peers:
        parser.error("--peers-python goes with --peers")
    if not args.instructions and (
        args.loop != "asyncio" or args.json != "json" or args.in_flight != 32
    ):
        parser.error("--loop, --json and --in-flight go with --instructions")
    if args.in_flight < 1:
        parser.error("--in-flight must be at least 1")
    if args.instructions:
        from . import instructions

        return instructions.main(args.quick, args.loop, args.json, args.in_flight)
    if args.peers:
        from . import peers

        return peers.main(args.quick, args.peers_python)
    started = time.perf_counter()
    figures = asyncio.run(measure(args.quick))
    path = results_file("last", args.quick)
    print(report(figures, args.quick, load_previous(path)))
    print(f"took {time.perf_counter() - started:.0f} s")
    save(path, args.quick, figures)
    failed = missed(figures, args.quick)
    if failed:
        print(f"over budget: {', '.join(f.name for f in failed)}", file=sys.stderr)
        return 1
    return 0
