"""Benchmarks: every figure is a ratio measured in this one run (the machine is shared and noisy).

    python -m benchmarks           # the full run, compared against the budget in DESIGN.md §5
    python -m benchmarks --quick   # fewer repeats and smaller counts; never fails on timing

Results are written to benchmarks/results/last.json, and compared with the previous run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

from ionq_backends import Backend, BackendName, IonQClient, make_converter
from ionq_backends._wire import PROFILES
from ionq_backends._wire.converter import compile_backend
from ionq_backends._wire.parse import Table, walk
from ionq_backends.emulator import Emulator
from ionq_backends.emulator._fleet import default_fleet
from ionq_backends.emulator._versions import RENDERINGS

RESULTS = Path(__file__).resolve().parent / "results" / "last.json"
SIX = [str(n) for n in BackendName]
# What IonQClient(timeout=30.0) means, given to the bare-aiohttp side too.
SAME_TIMEOUT = aiohttp.ClientTimeout(total=30.0, connect=10.0, sock_read=30.0)


class Figure:
    """One measured figure and its budget (`ok` is None when it has no budget)."""

    def __init__(
        self, name: str, value: float, unit: str, budget: str, ok: bool | None, detail: str
    ) -> None:
        self.name, self.value, self.unit = name, value, unit
        self.budget, self.ok, self.detail = budget, ok, detail

    def as_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "unit": self.unit,
            "budget": self.budget,
            "ok": self.ok,
            "detail": self.detail,
        }


def median(values: list[float]) -> float:
    return statistics.median(values)


@contextmanager
def server_process(latency: float = 0.0, backends: int = 0) -> Iterator[str]:
    """An emulator in another process; yields its base URL."""
    command = [
        sys.executable,
        "-m",
        "benchmarks._server",
        "--latency",
        str(latency),
        "--backends",
        str(backends),
    ]
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.stdout is not None
    assert proc.stdin is not None
    try:
        yield json.loads(proc.stdout.readline())["base_url"]
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
        proc.stdout.close()


async def fan_out(repeats: int) -> Figure:
    async with Emulator(latency=0.1) as emulator, IonQClient(base_url=emulator.base_url) as client:
        await client.get_backends()  # open the six pooled connections first
        single: list[float] = []
        fanned: list[float] = []
        sequential: list[float] = []
        for _ in range(repeats):
            started = time.perf_counter()
            await client.get_backend(SIX[0])
            single.append(time.perf_counter() - started)
            started = time.perf_counter()
            snapshot = await client.get_backends()
            fanned.append(time.perf_counter() - started)
            assert len(snapshot) == 6, snapshot.errors
            started = time.perf_counter()
            for name in SIX:
                await client.get_backend(name)
            sequential.append(time.perf_counter() - started)
    ratio = median(fanned) / median(single)
    seq = median(sequential) / median(single)
    return Figure(
        "fan-out",
        ratio,
        "x one get_backend()",
        "<= 1.25",
        ratio <= 1.25,
        f"get_backends() {median(fanned) * 1e3:.1f} ms, one get_backend() "
        f"{median(single) * 1e3:.1f} ms; a sequential loop (the peers' shape) {seq:.2f}x",
    )


async def overhead(base_url: str, calls: int, in_flight: int, repeats: int) -> Figure:
    timeout = SAME_TIMEOUT
    url = f"{base_url}/v0.4/backends/{SIX[0]}"

    async def sdk() -> float:
        async with IonQClient(
            base_url=base_url, max_concurrency=in_flight, timeout=timeout
        ) as client:
            await asyncio.gather(*(client.get_backend(SIX[0]) for _ in range(in_flight)))
            started = time.perf_counter()
            await asyncio.gather(*(client.get_backend(SIX[0]) for _ in range(calls)))
            return calls / (time.perf_counter() - started)

    async def bare() -> float:
        connector = aiohttp.TCPConnector(limit=in_flight)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            gate = asyncio.Semaphore(in_flight)

            async def one() -> Any:
                # The parsed result is returned and kept, as the SDK's Backends are: a baseline
                # that discarded its data would do less work than any real client (about 3%).
                async with gate, session.get(url) as response:
                    return json.loads(await response.read())

            await asyncio.gather(*(one() for _ in range(in_flight)))
            started = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(calls)))
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
    wanted = [f"qpu.bench-{i}" for i in range(names)]
    bound = math.ceil(names / limit) * latency
    timeout = SAME_TIMEOUT
    ours: list[float] = []
    theirs: list[float] = []
    async with IonQClient(base_url=base_url, max_concurrency=limit, timeout=timeout) as client:
        connector = aiohttp.TCPConnector(limit=limit)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            gate = asyncio.Semaphore(limit)

            async def bare_one(name: str) -> None:
                async with gate, session.get(f"{base_url}/v0.4/backends/{name}") as response:
                    json.loads(await response.read())

            await client.get_backends(wanted[:limit])  # open the pool
            await asyncio.gather(*(bare_one(n) for n in wanted[:limit]))
            for _ in range(repeats):
                started = time.perf_counter()
                snapshot = await client.get_backends(wanted)
                ours.append(time.perf_counter() - started)
                assert len(snapshot) == names, list(snapshot.errors.values())[:3]
                started = time.perf_counter()
                await asyncio.gather(*(bare_one(n) for n in wanted))
                theirs.append(time.perf_counter() - started)
    ratio = median(ours) / bound
    return Figure(
        "scale",
        ratio,
        "x the concurrency bound",
        "<= 1.4",
        ratio <= 1.4,
        f"get_backends() over {names} names, max_concurrency={limit}, latency "
        f"{latency * 1e3:.0f} ms: {median(ours) * 1e3:.0f} ms vs bound {bound * 1e3:.0f} ms; "
        f"bare aiohttp {median(theirs) / bound:.2f}x",
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


async def soak(base_url: str, polls: int) -> Figure:
    """Half the polls through get_backends() in a loop, half through watch(); then compare."""
    gc.collect()
    await asyncio.sleep(0)
    fds_before = open_fds()
    requests = 0

    async def counted(session: aiohttp.ClientSession, ctx: Any, params: Any) -> None:
        nonlocal requests
        requests += 1
        if requests >= polls:
            enough.set()

    enough = asyncio.Event()
    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(counted)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        session = aiohttp.ClientSession(trace_configs=[trace])
        async with IonQClient(base_url=base_url, session=session) as client:
            warm = 2_000
            while requests < warm:
                await client.get_backends(SIX)
            gc.collect()
            rss_start = rss_mib()
            while requests < polls // 2:
                await client.get_backends(SIX)

            async def consume() -> None:
                async for _change in client.watch(SIX, interval=1e-6, jitter=0.0):
                    pass

            watcher = asyncio.create_task(consume())
            await enough.wait()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            gc.collect()
            rss_end = rss_mib()
        await session.close()
        gc.collect()
        await asyncio.sleep(0)
    fds_after = open_fds()
    resource_warnings = [w for w in caught if issubclass(w.category, ResourceWarning)]
    growth = rss_end - rss_start
    ok = growth < 10.0 and fds_after <= fds_before and not resource_warnings
    return Figure(
        "soak",
        growth,
        "MiB RSS growth",
        "< 10 MiB; fds back; no ResourceWarning",
        ok,
        f"{requests} polls (get_backends() then watch()); fds {fds_before[0]}->"
        f"{fds_after[0]}, sockets {fds_before[1]}->{fds_after[1]}; "
        f"ResourceWarnings {len(resource_warnings)}",
    )


def import_time(repeats: int) -> Figure:
    def once(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - started

    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(repeats):
        ours.append(once("import ionq_backends"))
        theirs.append(once("import aiohttp, attrs, cattrs"))
    ratio = median(ours) / median(theirs)
    return Figure(
        "import",
        ratio,
        "x import aiohttp, attrs, cattrs",
        "<= 1.3",
        ratio <= 1.3,
        f"{median(ours) * 1e3:.0f} ms vs {median(theirs) * 1e3:.0f} ms, fresh interpreters",
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
    # What the generated Backend structurer earns over the generic table walk it falls back to.
    table = Table(PROFILES["v0.4"].backend_fields(False), frozenset({"backend", "status"}))

    def walked(obj: Any) -> Backend:
        kwargs, extra = walk(obj, table, False, "backend object")
        return Backend(**kwargs, extra=extra, api_version="v0.4")

    generated = compile_backend(table, "v0.4", False, walked)
    by_walk = best(lambda: [walked(item) for item in items])
    by_code = best(lambda: [generated(item) for item in items])
    return Figure(
        "structuring",
        full,
        "us per backend",
        "(no budget)",
        None,
        f"json.loads + cattrs {full:.1f} us; json.loads alone {decode:.1f} us; "
        f"generated structurer {by_code:.2f} us vs table walk {by_walk:.2f} us",
    )


async def measure(quick: bool) -> list[Figure]:
    repeats = 2 if quick else 5
    figures = [await fan_out(repeats)]
    print(figures[-1].name, "done", file=sys.stderr)
    with server_process() as base_url:
        # The noisiest figure on a shared machine: more repeats than the others.
        figures.append(await overhead(base_url, 300 if quick else 2_000, 32, repeats + 4))
        print(figures[-1].name, "done", file=sys.stderr)
        figures.append(await soak(base_url, 3_000 if quick else 100_000))
        print(figures[-1].name, "done", file=sys.stderr)
    names = 200 if quick else 1_000
    with server_process(latency=0.02, backends=names) as base_url:
        figures.append(await scale(base_url, names, 100, 0.02, repeats))
        print(figures[-1].name, "done", file=sys.stderr)
    figures.append(import_time(3 if quick else 15))
    figures.append(structuring(1_000, 5 if quick else 50))
    return figures


def report(figures: list[Figure], quick: bool, previous: dict[str, Any] | None) -> str:
    lines = [f"{'figure':12} {'value':>9}  {'budget':40} {'ok':4} detail"]
    for f in figures:
        ok = "-" if f.ok is None else ("yes" if f.ok else "NO")
        lines.append(f"{f.name:12} {f.value:>9.3f}  {f.unit + ' ' + f.budget:40} {ok:4} {f.detail}")
        if previous and f.name in previous.get("figures", {}):
            lines.append(f"{'':12} {'last run':>9}  {previous['figures'][f.name]['value']:.3f}")
    mode = "quick mode (timing not judged)" if quick else "full run"
    lines.append(f"{mode}; {os.cpu_count()} cores; Python {platform.python_version()}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts, never fails on timing")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    figures = asyncio.run(measure(args.quick))
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else None
    print(report(figures, args.quick, previous))
    print(f"took {time.perf_counter() - started:.0f} s")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "quick": args.quick,
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "figures": {f.name: f.as_json() for f in figures},
            },
            indent=2,
        )
    )
    missed = [f.name for f in figures if f.ok is False]
    if missed and not args.quick:
        print(f"over budget: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0
