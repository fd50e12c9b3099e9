"""An aiohttp.web service that keeps IonQ fleet state current and serves it at GET /status.

`watch()` runs in a background task for the app's whole lifetime (cleanup_ctx); each backend's
entry has its latest value, the age of that value and its last error. This is the shape of a
dashboard or job-router sidecar.

    python examples/status_service.py --port 8000            # embedded emulator behind it
    python examples/status_service.py --live --interval 60
    curl localhost:8000/status
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import cattrs
from aiohttp import web

import ionq_backends as iq
from ionq_backends.emulator import Emulator

CLIENT = web.AppKey("client", iq.IonQClient)
STATE = web.AppKey("state", dict)
UPDATED = web.AppKey("updated", asyncio.Condition)
INTERVAL = web.AppKey("interval", float)
_JSON = cattrs.Converter()
_JSON.register_unstructure_hook(datetime, lambda d: d.isoformat().replace("+00:00", "Z"))


async def follow(app: web.Application) -> None:
    state: dict[str, dict[str, Any]] = app[STATE]
    async for change in app[CLIENT].watch(interval=app[INTERVAL]):
        entry = state.setdefault(change.name, {"backend": None, "seen_at": None, "error": None})
        if change.error is None:
            entry.update(backend=change.current, seen_at=datetime.now(UTC), error=None)
        else:
            entry["error"] = {"type": type(change.error).__name__, "message": str(change.error),
                              "at": datetime.now(UTC)}  # fmt: skip
        async with app[UPDATED]:
            app[UPDATED].notify_all()


async def background_watch(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(follow(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await app[CLIENT].close()


async def status(request: web.Request) -> web.Response:
    now = datetime.now(UTC)
    body = {
        name: {
            "backend": _JSON.unstructure(entry["backend"]),
            "age_seconds": None if entry["seen_at"] is None
            else round((now - entry["seen_at"]).total_seconds(), 3),
            "last_error": _JSON.unstructure(entry["error"]),
        }
        for name, entry in request.app[STATE].items()
    }  # fmt: skip
    return web.json_response(body)


def build_app(client: iq.IonQClient, interval: float) -> web.Application:
    app = web.Application()
    app[CLIENT] = client
    app[STATE] = {}
    app[UPDATED] = asyncio.Condition()
    app[INTERVAL] = interval
    app.cleanup_ctx.append(background_watch)
    app.router.add_get("/status", status)
    return app


async def serve(base_url: str | None, port: int, interval: float) -> None:
    runner = web.AppRunner(build_app(iq.IonQClient(base_url=base_url), interval))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    print(f"serving fleet status on http://127.0.0.1:{runner.addresses[0][1]}/status", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", action="store_true", help="watch api.ionq.co")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--interval", type=float, default=5.0)
    args = parser.parse_args()
    if args.live:
        await serve(None, args.port, args.interval)
        return
    async with Emulator() as emulator:
        await serve(emulator.base_url, args.port, args.interval)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
