"""One IonQ client measured in a fresh process, for `python -m benchmarks --peers`.

    PYTHON benchmarks/_peer.py CLIENT import
    PYTHON benchmarks/_peer.py CLIENT run --slow URL --fast URL --requests N --polls P

It uses the standard library and the one client only, so it runs in the peers' own venv, which
does not have ionq-backends (and ours runs in ours). It prints one JSON line.

- `import`: seconds to import what a user imports to fetch backends with CLIENT.
- `run`: the import again, then
  - a fleet poll of the six QPUs against `--slow` (the emulator at 100 ms latency): one discarded
    poll to open connections, then the median of P polls, in seconds. Each client polls as its
    API lets it: ours and ionq-core's async API concurrently, the sync clients one request after
    another, `ionq` with its one list request (it has no single-backend call);
  - requests/s against `--fast` (no latency), after a warm-up of N/10: N requests one at a time,
    and for the async clients also N requests with 8 in flight (ours' default bound);
  - peak RSS of the whole process (`ru_maxrss`), in MiB.

Where each client is pointed (found in its source):
- ionq-backends: `IonQClient(base_url=...)`; v0.4.
- ionq-core: `IonQClient(api_key=..., base_url=".../v0.4")`; it requires a key, and warns that
  the base URL is not HTTPS (silenced here). `ionq_core.api.backends.get_backend.sync/asyncio`.
- ionq: `Client(api_key=..., base_url=".../v0.3")`, `client.backends.get_backends()`: its model
  needs integer `last_updated` (v0.3's epoch seconds); v0.4's ISO dates fail its validation.
- cirq-ionq: `Service(remote_host=..., api_key=...)` keeps only scheme and host and appends
  `/v0.4`. It has no backends call at all (only `/calibrations`), so it is measured the way a
  cirq-ionq user would fetch a backend: `requests.get` through its client's own retrying
  `_make_request` with its headers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

SIX = [
    "qpu.aria-1",
    "qpu.aria-2",
    "qpu.forte-1",
    "qpu.forte-enterprise-1",
    "qpu.forte-enterprise-2",
    "qpu.forte-enterprise-3",
]
KEY = "benchmark-key"
IN_FLIGHT = 8


def load(client: str) -> Any:
    """Import what a user imports to fetch backends with `client`; return the entry points."""
    if client == "ionq-backends":
        import ionq_backends

        return ionq_backends
    if client in ("ionq-core", "ionq-core-async"):
        import ionq_core
        from ionq_core.api.backends import get_backend

        return ionq_core, get_backend
    if client == "ionq":
        import ionq

        return ionq
    if client == "cirq-ionq":
        import cirq_ionq
        import requests

        return cirq_ionq, requests
    raise SystemExit(f"unknown client {client!r}")


class Sync:
    """A blocking client: `one()` fetches one backend, `poll()` the six."""

    def __init__(self, client: str, base_url: str, modules: Any) -> None:
        self.one: Callable[[], Any]
        self.poll: Callable[[], Any]
        if client == "ionq-core":
            ionq_core, get_backend = modules
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                api = ionq_core.IonQClient(api_key=KEY, base_url=f"{base_url}/v0.4")

            def one(name: str = SIX[2]) -> Any:
                backend = get_backend.sync(backend=name, client=api)
                assert backend is not None
                assert backend.backend == name, backend
                return backend

            self.one = one
            self.poll = lambda: [one(name) for name in SIX]
        elif client == "ionq":
            api = modules.Client(api_key=KEY, base_url=f"{base_url}/v0.3")

            def listed() -> Any:
                backends = {b.backend: b for b in api.backends.get_backends()}
                return [backends[name] for name in SIX]

            self.one = self.poll = listed
        elif client == "cirq-ionq":
            cirq_ionq, requests = modules
            service = cirq_ionq.Service(remote_host=base_url, api_key=KEY)
            inner = service._client

            def fetch(name: str = SIX[2]) -> Any:
                url = f"{inner.url}/backends/{name}"
                reply = inner._make_request(lambda: requests.get(url, headers=inner.headers), {})
                backend = reply.json()
                assert backend["backend"] == name, backend
                return backend

            self.one = fetch
            self.poll = lambda: [fetch(name) for name in SIX]
        else:
            raise SystemExit(f"{client} is not a blocking client")

    def close(self) -> None:
        pass


async def async_client(client: str, base_url: str, modules: Any) -> tuple[Any, Any, Any]:
    """(one, poll, close) coroutine functions for an asyncio client."""
    if client == "ionq-backends":
        api = modules.IonQClient(base_url=base_url)

        async def one() -> Any:
            return await api.get_backend(SIX[2])

        async def poll() -> Any:
            snapshot = await api.get_backends(SIX)
            assert len(snapshot) == 6, snapshot.errors
            return snapshot

        return one, poll, api.close
    if client == "ionq-core-async":
        ionq_core, get_backend = modules
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            api = ionq_core.IonQClient(api_key=KEY, base_url=f"{base_url}/v0.4")

        async def fetch(name: str = SIX[2]) -> Any:
            backend = await get_backend.asyncio(backend=name, client=api)
            assert backend is not None
            assert backend.backend == name, backend
            return backend

        async def gathered() -> Any:
            return await asyncio.gather(*(fetch(name) for name in SIX))

        async def close() -> None:
            await api.get_async_httpx_client().aclose()

        return fetch, gathered, close
    raise SystemExit(f"{client} is not an asyncio client")


def timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


async def atimed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


def run_sync(client: str, modules: Any, args: argparse.Namespace) -> dict[str, Any]:
    slow, fast = Sync(client, args.slow, modules), Sync(client, args.fast, modules)
    slow.poll()
    polls = [timed(slow.poll) for _ in range(args.polls)]
    for _ in range(max(1, args.requests // 10)):
        fast.one()
    started = time.perf_counter()
    for _ in range(args.requests):
        fast.one()
    sequential = args.requests / (time.perf_counter() - started)
    return {"poll_s": statistics.median(polls), "rps": sequential, "rps_concurrent": None}


async def run_async(client: str, modules: Any, args: argparse.Namespace) -> dict[str, Any]:
    _one, poll, close_slow = await async_client(client, args.slow, modules)
    one, _poll, close_fast = await async_client(client, args.fast, modules)
    try:
        await poll()
        polls = [await atimed(poll) for _ in range(args.polls)]
        for _ in range(max(1, args.requests // 10)):
            await one()
        started = time.perf_counter()
        for _ in range(args.requests):
            await one()
        sequential = args.requests / (time.perf_counter() - started)
        gate = asyncio.Semaphore(IN_FLIGHT)  # ours bounds itself to 8 already; the same for both

        async def bounded() -> Any:
            async with gate:
                return await one()

        started = time.perf_counter()
        await asyncio.gather(*(bounded() for _ in range(args.requests)))
        concurrent = args.requests / (time.perf_counter() - started)
    finally:
        await close_slow()
        await close_fast()
    return {"poll_s": statistics.median(polls), "rps": sequential, "rps_concurrent": concurrent}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("client")
    parser.add_argument("mode", choices=("import", "run"))
    parser.add_argument("--slow")
    parser.add_argument("--fast")
    parser.add_argument("--requests", type=int, default=1_000)
    parser.add_argument("--polls", type=int, default=5)
    args = parser.parse_args()
    started = time.perf_counter()
    modules = load(args.client)
    outcome: dict[str, Any] = {"client": args.client, "import_s": time.perf_counter() - started}
    if args.mode == "run":
        if args.client in ("ionq-backends", "ionq-core-async"):
            outcome |= asyncio.run(run_async(args.client, modules, args))
        else:
            outcome |= run_sync(args.client, modules, args)
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        outcome["peak_rss_mib"] = peak_kib / 1024
    print(json.dumps(outcome), flush=True)


if __name__ == "__main__":
    sys.exit(main())
