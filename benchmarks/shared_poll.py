"""Many services, one poll: 1,000 coroutines in 20 processes poll the fleet through one monitor.

    python -m benchmarks.shared_poll            # 20 × 50 coroutines for 30 s, a poll a second each
    python -m benchmarks.shared_poll --quick    # for 8 s; never fails on a figure

The upstream API is an emulator in this process (50 ms latency), so that every request it gets
is counted. The monitor (`python -m ionq_backends.service --base-url <emulator>`, one round a
second) and each of the 20 worker processes run apart. A worker is one `IonQClient(base_url=
<monitor>)` with 50 coroutines, each calling `get_backends()` once a second from its own random
phase, as independent pollers do. Reported: the upstream backends requests per monitor round (the
goal: 1, the round's own list), the calls through the monitor, and their latency. A full run
exits 1 when a call fails or upstream sees more than the rounds' own requests.
Results go to benchmarks/results/shared_poll.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from ionq_backends import IonQClient, IonQError
from ionq_backends.emulator import Emulator

from ._common import rounds_done, start_monitor

RESULTS = Path(__file__).resolve().parent / "results" / "shared_poll.json"
UPSTREAM_LATENCY = 0.05


# A worker process


async def worker(url: str, coroutines: int, seconds: float) -> dict[str, Any]:
    """`coroutines` pollers on one client for `seconds`; their latencies and failures."""
    latencies: list[float] = []
    failures: list[str] = []
    async with IonQClient(base_url=url, max_retries=0) as client:
        start = time.monotonic() + 0.5
        end = start + seconds

        async def poller() -> None:
            tick = start + random.random()  # its own phase in the second
            while tick < end:
                await asyncio.sleep(max(0.0, tick - time.monotonic()))
                began = time.perf_counter()
                try:
                    snapshot = await client.get_backends()
                except IonQError as exc:
                    failures.append(str(exc))
                else:
                    if snapshot.errors:
                        failures.extend(map(str, snapshot.errors.values()))
                latencies.append(time.perf_counter() - began)
                tick += 1.0

        await asyncio.gather(*(poller() for _ in range(coroutines)))
    return {"latencies": latencies, "failures": failures[:20], "failed": len(failures)}


# The driver


def upstream_counts(emulator: Emulator) -> tuple[int, int]:
    """(backends requests, characterization requests) the upstream API got so far."""
    paths = [r.path for r in emulator.requests]
    characterizations = sum("/characterizations" in p for p in paths)
    return len(paths) - characterizations, characterizations


async def wait_rounds(http: aiohttp.ClientSession, url: str, count: int) -> int:
    deadline = time.monotonic() + 60
    # Another process: polling with a deadline is the only way to see it.
    while (done := await rounds_done(http, url)) < count and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    return done


async def run_worker(url: str, coroutines: int, seconds: float) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.shared_poll", "--worker", url,
        "--coroutines", str(coroutines), "--seconds", str(seconds),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"a worker exited {proc.returncode}")
    result: dict[str, Any] = json.loads(out)
    return result


async def measure(processes: int, coroutines: int, seconds: float) -> dict[str, Any]:
    async with Emulator(latency=UPSTREAM_LATENCY) as emulator:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "history.sqlite3"
            options = ("--base-url", emulator.base_url, "--db", str(db), "--interval", "1")
            proc, url = await start_monitor(*options)
            try:
                async with aiohttp.ClientSession() as http:
                    await wait_rounds(http, url, 3)  # characterizations fetched, pool warm
                    before, rounds_before = upstream_counts(emulator), await rounds_done(http, url)
                    results = await asyncio.gather(
                        *(run_worker(url, coroutines, seconds) for _ in range(processes))
                    )
                    after, rounds_after = upstream_counts(emulator), await rounds_done(http, url)
            finally:
                proc.send_signal(signal.SIGTERM)
                await asyncio.wait_for(proc.wait(), 30)
    latencies = sorted(x for r in results for x in r["latencies"])
    rounds = rounds_after - rounds_before

    def ms(q: float) -> float:
        return round(float(latencies[min(len(latencies) - 1, int(q * len(latencies)))]) * 1000, 1)

    return {
        "processes": processes,
        "coroutines_per_process": coroutines,
        "seconds": seconds,
        "calls": len(latencies),
        "calls_per_second": round(len(latencies) / seconds, 1),
        "failed_calls": sum(r["failed"] for r in results),
        "failures": [f for r in results for f in r["failures"]][:10],
        "monitor_rounds": rounds,
        "upstream_backends_requests": after[0] - before[0],
        "upstream_characterization_requests": after[1] - before[1],
        "upstream_backends_requests_per_round": round((after[0] - before[0]) / max(rounds, 1), 3),
        "latency_ms": {
            "median": round(statistics.median(latencies) * 1000, 1),
            "p95": ms(0.95),
            "p99": ms(0.99),
            "max": round(latencies[-1] * 1000, 1),
        },
        "upstream_latency_ms": UPSTREAM_LATENCY * 1000,
    }


def verdict(result: dict[str, Any]) -> list[str]:
    problems = []
    if result["failed_calls"]:
        problems.append(f"{result['failed_calls']} calls failed: {result['failures'][:3]}")
    if result["upstream_backends_requests"] > result["monitor_rounds"] + 1:
        problems.append(
            f"upstream got {result['upstream_backends_requests']} backends requests in "
            f"{result['monitor_rounds']} rounds: more than the rounds' own"
        )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 s; never fails on a figure")
    parser.add_argument("--processes", type=int, default=20)
    parser.add_argument("--coroutines", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--worker", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    seconds = args.seconds or (8.0 if args.quick else 30.0)
    if args.worker:
        print(json.dumps(asyncio.run(worker(args.worker, args.coroutines, seconds))))
        return 0
    result = asyncio.run(measure(args.processes, args.coroutines, seconds))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    lat = result["latency_ms"]
    print(
        f"{result['processes']} processes × {result['coroutines_per_process']} coroutines, "
        f"{seconds:g} s: {result['calls']} get_backends() through one monitor "
        f"({result['calls_per_second']}/s), {result['failed_calls']} failed"
    )
    print(
        f"upstream: {result['upstream_backends_requests']} backends requests in "
        f"{result['monitor_rounds']} monitor rounds "
        f"({result['upstream_backends_requests_per_round']} per round; goal 1), "
        f"{result['upstream_characterization_requests']} characterization requests"
    )
    print(
        f"answer latency: median {lat['median']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms, "
        f"max {lat['max']} ms (upstream latency {result['upstream_latency_ms']:g} ms)"
    )
    problems = verdict(result)
    for problem in problems:
        print("problem:", problem)
    return 1 if problems and not args.quick else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main())
