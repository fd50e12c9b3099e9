"""The emulator's aiohttp.web server: IonQ's backends and characterizations API, both versions."""

from __future__ import annotations

import asyncio
import functools
import itertools
import math
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import attrs
from aiohttp import web

from .. import _params
from .._constants import (
    DEFAULT_SCENARIO_SPEED,
    EMULATOR_REQUEST_LOG,
    EMULATOR_SHUTDOWN_TIMEOUT,
    LOCAL_HOST,
    MAX_PAGE_SIZE,
)
from .._urls import is_loopback
from ._faults import Fault, Faults, disconnect, error, json_response
from ._fleet import Machine, default_fleet
from ._limits import PARSER, too_large
from ._queries import BadQuery, int_param, when_param
from ._scenarios import Scenario, Step, calibrated, play, scenario_named
from ._versions import BY_ID, CURRENT, LIST, OF_BACKEND, ONE, PAGE, RENDERINGS, Rendering

__all__ = ["Emulator", "RecordedRequest"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@attrs.frozen
class RecordedRequest:
    """One request the emulator received; `Authorization` is redacted."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


class Emulator:
    """An IonQ API emulator on loopback: `async with Emulator() as emu: emu.base_url`.

    It serves v0.3 and v0.4 from one fleet state. `latency` seconds are added to every answer.
    With `api_key` set, requests without `Authorization: apiKey <api_key>` get a 401.
    `reject_key_on_public=True` makes the backends routes answer 401 to any request that carries
    a key and 200 without one, as the live API did in May 2026 (qBraid/qBraid#1194).
    `record_requests=False` keeps `.requests` empty, for load tests. `scenario` ("day", or a
    `Scenario`) plays a fleet's day while it runs, `speed` times faster than real time.
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        host: str = LOCAL_HOST,
        port: int = 0,
        api_key: str | None = None,
        allow_remote: bool = False,
        now: datetime | None = None,
        record_requests: bool = True,
        scenario: str | Scenario | None = None,
        speed: float = DEFAULT_SCENARIO_SPEED,
        reject_key_on_public: bool = False,
    ) -> None:
        if not allow_remote and not is_loopback(host):
            raise ValueError(
                f"refusing to listen on non-loopback host {host!r} (allow_remote=True)"
            )
        self.latency = _params.finite("latency", latency, inclusive=True)
        self.host = host
        self.port = _params.integer("port", port, low=0, high=65535)
        self._api_key = api_key
        # qBraid/qBraid#1194: the backends routes answered 401 to a request carrying a key.
        self.reject_key_on_public = reject_key_on_public
        self._public: set[str] = set()
        self.fleet: dict[str, Machine] = default_fleet(now)
        # Names the list leaves out, each still answered by name (as the live list does).
        self.unlisted: set[str] = set()
        self.requests: deque[RecordedRequest] = deque(maxlen=EMULATOR_REQUEST_LOG)
        self._record = record_requests
        self._faults = Faults()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.scenario = None if scenario is None else scenario_named(scenario)
        self.speed = _params.finite("speed", speed)
        self.played: list[Step] = []  # the scenario's steps applied so far, in order
        self._player: asyncio.Task[None] | None = None

    # Lifecycle

    async def start(self) -> Self:
        """Start listening; `base_url` is known from then on."""
        if self._runner is not None:
            return self
        app = web.Application(middlewares=[self._middleware])
        self._routes(app)
        # handler_cancellation: a client that gives up frees its handler (an injected delay).
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=EMULATOR_SHUTDOWN_TIMEOUT,
            handler_cancellation=True,
            **PARSER,  # limits past ours, and a quiet log of what it cannot parse
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        if self.scenario is not None:
            play_it = play(self.scenario, self.speed, self._apply)
            self._player = asyncio.create_task(play_it, name="ionq-emulator-scenario")
        self.port = runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Stop listening and close every connection. Idempotent."""
        runner, self._runner = self._runner, None
        if (player := self._player) is not None:
            self._player = None
            player.cancel()
            await asyncio.wait([player])
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """`http://HOST:PORT`, with no version segment."""
        if self._runner is None:
            raise RuntimeError("the emulator is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # Controls

    def set_backend(self, name: str, **fields: Any) -> None:
        """Add backend `name` or change its fields (Python values; `OMIT` drops a wire key).

        Known fields: status (available/unavailable/retired or any string), verbose_status,
        qubits, average_queue_time (ms), last_updated (datetime), degraded, characterization_id,
        kw, location, supported_gates, supported_native_gates, supported_error_mitigations,
        noise_models, characterizations. Any other keyword is sent as a raw wire key.
        """
        machine = self.fleet.get(name)
        if machine is None:
            machine = self.fleet[name] = Machine(
                name, {"status": "available", "last_updated": datetime.now(UTC)}
            )
        machine.update(fields)

    def _apply(self, step: Step, now: datetime) -> None:
        machine = self.fleet.get(step.backend)
        if machine is not None:
            more = calibrated(machine, now) if step.calibrate else {}
            self.set_backend(step.backend, **step.fields, **more, last_updated=now)
            self.played.append(step)

    def remove_backend(self, name: str) -> None:
        """Remove backend `name` (a `KeyError` if there is none)."""
        del self.fleet[name]

    def inject(
        self,
        path: str,
        *,
        status: int = 503,
        times: int = 1,
        retry_after: float | str | None = None,
        body: Any = None,
        delay: float = 0.0,
        disconnect: bool = False,
    ) -> None:
        """Answer the next `times` requests for `path` (e.g. `/v0.4/backends`) with a fault.

        `body`: `None` for IonQ's error format, `str`/`bytes` sent as is (HTML if it starts with
        `<`), anything else as JSON. A 2xx status with no body delays the real answer by `delay`.
        `disconnect` sends part of an answer, then drops the connection.
        """
        self._faults.add(path, Fault(status, times, retry_after, body, delay, disconnect))

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        self._faults.clear()

    # Serving

    def _routes(self, app: web.Application) -> None:
        handlers = {
            LIST: self._list,
            ONE: self._one,
            PAGE: self._characterizations,
            CURRENT: self._current,
            BY_ID: self._by_id,
            OF_BACKEND: self._of_backend,
        }
        for version, rendering in RENDERINGS.items():
            for path, kind in rendering.routes:
                handler = functools.partial(handlers[kind], rendering)
                app.router.add_get(f"/{version}/{path}", handler)
                if kind in (LIST, ONE):
                    self._public.add(f"/{version}/{path}")

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        request_id = f"emu-{next(self._ids):08x}"
        if self._record:
            self._remember(request)
        if self.latency:
            await asyncio.sleep(self.latency)
        response = too_large(request) or await self._answer(request, handler)
        response.headers["x-request-id"] = request_id
        return response

    def _remember(self, request: web.Request) -> None:
        headers = dict(request.headers)
        if "Authorization" in request.headers:  # case-insensitive lookup, whatever the spelling
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            headers["Authorization"] = "[REDACTED]"
        self.requests.append(
            RecordedRequest(request.method, request.path, dict(request.query), headers)
        )

    async def _answer(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        fault = self._faults.take(request.path)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.disconnect:
                return await disconnect(request)
            if not (200 <= fault.status < 300 and fault.body is None):
                return fault.response()
        route = request.match_info.route.resource
        public = route is not None and route.canonical in self._public
        has_key = "Authorization" in request.headers
        if public and self.reject_key_on_public and has_key:
            return error(401, "Unauthorized")
        if public and self.reject_key_on_public:
            pass  # the backends routes answer without a key
        elif self._api_key is not None and request.headers.get("Authorization") != (
            f"apiKey {self._api_key}"
        ):
            return error(401, "Invalid or missing API key")
        try:
            return await handler(request)
        except BadQuery as bad:
            return error(400, str(bad), validation={"source": "querystring", "keys": [bad.key]})
        except web.HTTPMethodNotAllowed:
            # IonQ's API (Fastify) knows routes by method and path: anything else is a 404.
            return error(404, f"Route {request.method}:{request.path} not found")
        except web.HTTPException as exc:
            return error(exc.status, exc.reason)

    def _machine(self, request: web.Request) -> Machine:
        machine = self.fleet.get(request.match_info["backend"])
        if machine is None:
            raise web.HTTPNotFound(reason=f"Backend {request.match_info['backend']} not found")
        return machine

    def _encoded(self, request: web.Request, machine: Machine, rendering: Rendering) -> bytes:
        verbose = request.query.get("status") == "verbose"
        has_key = "Authorization" in request.headers
        return machine.encoded(
            (rendering.version, verbose, has_key),
            lambda: rendering.backend(machine, verbose=verbose, has_key=has_key),
        )

    async def _list(self, rendering: Rendering, request: web.Request) -> web.Response:
        status = request.query.get("status")
        if status is not None and status != "verbose":
            raise BadQuery("status", 'querystring.status must be equal to "verbose"')
        listed = (m for name, m in self.fleet.items() if name not in self.unlisted)
        items = b",".join(self._encoded(request, m, rendering) for m in listed)
        return web.Response(body=b"[" + items + b"]", content_type="application/json")

    async def _one(self, rendering: Rendering, request: web.Request) -> web.Response:
        body = self._encoded(request, self._machine(request), rendering)
        return web.Response(body=body, content_type="application/json")

    async def _current(self, rendering: Rendering, request: web.Request) -> web.Response:
        items = self._machine(request).characterizations
        if not items:
            raise web.HTTPNotFound(reason="No characterization found for this backend")
        return json_response(rendering.characterization(items[0]))

    async def _by_id(self, rendering: Rendering, request: web.Request) -> web.Response:
        wanted = request.match_info["uuid"]
        for machine in self.fleet.values():
            for item in machine.characterizations:
                if item["id"] == wanted:
                    return json_response(rendering.characterization(item))
        raise web.HTTPNotFound(reason=f"Characterization {wanted} not found")

    async def _of_backend(self, rendering: Rendering, request: web.Request) -> web.Response:
        wanted = request.match_info["uuid"]
        for item in self._machine(request).characterizations:
            if item["id"] == wanted:
                return json_response(rendering.characterization(item))
        raise web.HTTPNotFound(reason=f"Characterization {wanted} not found")

    async def _characterizations(self, rendering: Rendering, request: web.Request) -> web.Response:
        machine = self._machine(request)
        query = request.query
        limit = int_param(query, "limit", MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        page = int_param(query, "page", 1, 1, None)
        start = when_param(query, "start", rendering)
        end = when_param(query, "end", rendering)
        items = [
            item
            for item in machine.characterizations
            if (start is None or item["date"] >= start) and (end is None or item["date"] < end)
        ]
        if not machine.characterizations:
            # What the live API sends for a backend with no data at all.
            return json_response({"characterizations": None, "pages": 0})
        chunk = items[(page - 1) * limit : page * limit]
        remaining = max(0, math.ceil(len(items) / limit) - page)
        return json_response(
            {
                "characterizations": [rendering.characterization(i) for i in chunk],
                "pages": remaining,
            }
        )
