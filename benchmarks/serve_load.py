"""Load on the fleet monitor: 100 live pages connected by server-sent events while it polls.

    python -m benchmarks.serve_load            # 100 clients for 60 s, one round every 0.2 s
    python -m benchmarks.serve_load --quick    # 100 clients for 5 s; never fails on a figure

The monitor runs as `python -m ionq_backends.service --emulator` in a process of its own, so
its RSS and file descriptors are its own. This process holds the SSE clients, and once a
second times `GET /`, `GET /metrics` and `GET /api/fleet` while they stream. A full run exits 1
when the server's RSS grows by 10 MiB or more, an answer under load is not a 200, a client
gets no event, or the server does not let every stream go when the clients leave.
Results go to benchmarks/results/serve_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from ._common import rounds_done, start_monitor

RESULTS = Path(__file__).resolve().parent / "results" / "serve_load.json"
RSS_BUDGET_MIB = 10.0


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Client:
    """One live page: counts the `fleet` events it reads until cancelled."""

    def __init__(self) -> None:
        self.events = 0
        self.first = asyncio.Event()
        self.error: str | None = None

    async def run(self, http: aiohttp.ClientSession, url: str) -> None:
        try:
            async with http.get(url + "events") as response:
                if response.status != 200:
                    self.error = f"status {response.status}"
                    return
                async for line in response.content:
                    if line.startswith(b"event: fleet"):
                        self.events += 1
                        self.first.set()
        except aiohttp.ClientError as exc:
            self.error = repr(exc)


async def probe(http: aiohttp.ClientSession, url: str) -> tuple[int, float, int]:
    started = time.perf_counter()
    async with http.get(url) as response:
        body = await response.read()
        return response.status, time.perf_counter() - started, len(body)


async def sse_gauge(http: aiohttp.ClientSession, url: str) -> float:
    async with http.get(url + "metrics") as response:
        for line in (await response.text()).splitlines():
            if line.startswith("ionq_sse_clients "):
                return float(line.split()[1])
    raise RuntimeError("no ionq_sse_clients in /metrics")


async def measure(clients: int, seconds: float, interval: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "history.sqlite3"
        proc, url = await start_monitor("--emulator", "--db", str(db), "--interval", str(interval))
        try:
            return await load(proc.pid, url, clients, seconds)
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)


async def load(pid: int, url: str, clients: int, seconds: float) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        probes = aiohttp.ClientSession()  # its own pool: a probe never waits behind a stream
        try:
            # Idle baseline once the poller's connection pool is warm (a few rounds in).
            warm_by = time.monotonic() + 60
            # Another process: polling with a deadline is the only way to see it.
            while await rounds_done(probes, url) < 5 and time.monotonic() < warm_by:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            fds_idle = fds(pid)
            pages = [Client() for _ in range(clients)]
            tasks = [asyncio.create_task(page.run(http, url)) for page in pages]
            await asyncio.wait_for(asyncio.gather(*(p.first.wait() for p in pages)), 60)
            rss_start, fds_loaded = rss_mib(pid), fds(pid)
            timings: dict[str, list[float]] = {"/": [], "/metrics": [], "/api/fleet": []}
            failures: list[str] = []
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                for path in timings:
                    status, took, _ = await probe(probes, url + path.lstrip("/"))
                    timings[path].append(took)
                    if status != 200:
                        failures.append(f"{path}: {status}")
                await asyncio.sleep(1.0)
            rss_end = rss_mib(pid)
            rounds = await rounds_done(probes, url)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await probes.close()
    # The streams are gone: the server must notice and let each one go.
    async with aiohttp.ClientSession() as http:
        gone_by = time.monotonic() + 30
        while (left := await sse_gauge(http, url)) > 0 and time.monotonic() < gone_by:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # let the last sockets close before counting descriptors
    events = [p.events for p in pages]
    return {
        "clients": clients,
        "seconds": seconds,
        "rounds": rounds,
        "events_per_client_min": min(events),
        "events_per_client_median": statistics.median(events),
        "client_errors": [p.error for p in pages if p.error],
        "rss_start_mib": round(rss_start, 1),
        "rss_end_mib": round(rss_end, 1),
        "rss_growth_mib": round(rss_end - rss_start, 2),
        "fds_idle": fds_idle,
        "fds_loaded": fds_loaded,
        "fds_after": fds(pid),
        "streams_left": left,
        "answers_not_200": failures,
        "latency_ms": {
            path: {
                "median": round(statistics.median(values) * 1000, 1),
                "max": round(max(values) * 1000, 1),
                "count": len(values),
            }
            for path, values in timings.items()
        },
    }


def verdict(result: dict[str, Any]) -> list[str]:
    problems = []
    if result["rss_growth_mib"] >= RSS_BUDGET_MIB:
        problems.append(f"RSS grew {result['rss_growth_mib']} MiB (budget < {RSS_BUDGET_MIB})")
    if result["answers_not_200"]:
        problems.append(f"answers under load: {result['answers_not_200'][:5]}")
    if result["client_errors"] or result["events_per_client_min"] < 1:
        problems.append(f"clients: {result['client_errors'][:5]}")
    if result["streams_left"]:
        problems.append(f"{result['streams_left']} streams still open after the clients left")
    if result["fds_after"] > result["fds_idle"] + 2:
        problems.append(f"fds {result['fds_idle']} -> {result['fds_after']} after the load")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s; never fails on a figure")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--interval", type=float, default=0.2)
    args = parser.parse_args(argv)
    seconds = args.seconds or (5.0 if args.quick else 60.0)
    result = asyncio.run(measure(args.clients, seconds, args.interval))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    lat = result["latency_ms"]
    print(
        f"{result['clients']} SSE clients for {seconds:g} s, {result['rounds']} rounds "
        f"(one every {args.interval:g} s): each client got {result['events_per_client_min']} "
        f"to {max(result['events_per_client_median'], result['events_per_client_min']):g} "
        "events (min to median)"
    )
    print(
        f"server RSS {result['rss_start_mib']} -> {result['rss_end_mib']} MiB "
        f"(+{result['rss_growth_mib']}); fds idle {result['fds_idle']}, with clients "
        f"{result['fds_loaded']}, after {result['fds_after']}; "
        f"streams left {result['streams_left']:g}"
    )
    for path, figures in lat.items():
        print(f"{path:<11} under load: median {figures['median']} ms, max {figures['max']} ms "
              f"over {figures['count']} requests")  # fmt: skip
    problems = verdict(result)
    for problem in problems:
        print("problem:", problem)
    if problems and not args.quick:
        return 1
    functional = [p for p in problems if not p.startswith("RSS")]
    return 1 if functional else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main())
