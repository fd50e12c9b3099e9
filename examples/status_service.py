"""Your own aiohttp.web service with the fleet monitor mounted inside it, under /fleet/.

`ionq_backends.service.create_app()` keeps one client and one polling loop for the app's
lifetime, with its live page, /metrics, JSON API and SQLite history. Your routes read its
state: here `GET /status` answers a job router's question (which QPUs run jobs now, least
busy first). Needs `pip install 'ionq-backends[service]'`.

    python examples/status_service.py --port 8000            # embedded emulator behind it
    python examples/status_service.py --live --interval 60
    curl localhost:8000/status        # and open http://localhost:8000/fleet/
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from ionq_backends import select
from ionq_backends.emulator import Emulator
from ionq_backends.service import MONITOR, create_app

FLEET = web.AppKey("fleet", web.Application)


async def status(request: web.Request) -> web.Response:
    """The QPUs a job may go to, least busy first, and what fails to poll, from the monitor's
    state: only backends whose value is known now (`fresh`), filtered by the SDK's `select()`
    (running jobs, not degraded, hardware only), never by a rule of our own."""
    state = request.app[FLEET][MONITOR].state
    available = select(state.fresh(datetime.now(UTC)), qpu_only=True)
    body = {
        "available": [{"name": b.name, "qubits": b.qubits,
                       "queue_seconds": b.queue_time and b.queue_time.total_seconds()}
                      for b in available],
        "failing": {name: v.error.message for name, v in state.views.items() if v.error},
        "rounds": state.rounds,
    }  # fmt: skip
    return web.json_response(body)


def build_app(**monitor_options: Any) -> web.Application:
    """Your app: its own routes, plus the monitor (its options go to `create_app`)."""
    app = web.Application()
    fleet = create_app(**monitor_options)
    app[FLEET] = fleet
    app.router.add_get("/status", status)
    app.add_subapp("/fleet/", fleet)  # its cleanup_ctx runs with your app's startup
    return app


async def serve(port: int, **monitor_options: Any) -> None:
    runner = web.AppRunner(build_app(**monitor_options))
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        print(f"serving fleet status on {url}/status (monitor at {url}/fleet/)", flush=True)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", action="store_true", help="watch api.ionq.co")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--db", default="status-service-history.sqlite3")
    args = parser.parse_args()
    options = {"interval": args.interval, "db_path": args.db}
    if args.live:
        await serve(args.port, **options)
        return
    async with Emulator() as emulator:
        await serve(args.port, base_url=emulator.base_url, **options)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
