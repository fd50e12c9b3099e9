"""The aiohttp.web application: `create_app()` and its handlers."""

from __future__ import annotations

import hashlib
import importlib.resources
import os
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import attrs
from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from .._client import IonQClient
from .._constants import DEFAULT_API_VERSION, DEFAULT_TIMEOUT, DEFAULT_WATCH_JITTER
from ._constants import (
    DEFAULT_DB_PATH,
    DEFAULT_HISTORY_SPAN,
    DEFAULT_INTERVAL,
    DEFAULT_RETENTION,
    MAX_EVENTS,
    MAX_HISTORY_SPAN,
    MAX_NAME_LENGTH,
    MAX_POINTS,
    SAMPLE_SECONDS,
    SECURITY_HEADERS,
    SSE_PING_INTERVAL,
    SSE_RETRY_MS,
    SSE_SEND_TIMEOUT,
    STALLED_INTERVALS,
    UNHEALTHY_FAILED_ROUNDS,
)
from ._durations import parse_duration, parse_instant
from ._history import choose_step, event_json, series_json
from ._hosts import host_check
from ._ionq_api import IonQApi, add_routes
from ._monitor import Monitor
from ._sse import stream

__all__ = ["MONITOR", "create_app"]

MONITOR = web.AppKey("ionq_monitor", Monitor)


@attrs.frozen
class _Settings:
    assets: dict[str, _Asset]
    stalled_after: float
    unhealthy_after: int


_SETTINGS = web.AppKey("ionq_monitor_settings", _Settings)

_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".txt": "text/plain",
}


class _Asset:
    """One file of the page, read from package data once."""

    def __init__(self, name: str, body: bytes) -> None:
        self.body = body
        self.content_type = _TYPES[os.path.splitext(name)[1]]
        self.etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'

    def response(self, request: web.Request) -> web.Response:
        headers = {"ETag": self.etag, "Cache-Control": "no-cache"}
        if request.headers.get("If-None-Match") == self.etag:
            return web.Response(status=304, headers=headers)
        return web.Response(
            body=self.body, content_type=self.content_type, charset="utf-8", headers=headers
        )


def _assets() -> dict[str, _Asset]:
    root = importlib.resources.files(__package__).joinpath("static")
    return {
        item.name: _Asset(item.name, item.read_bytes())
        for item in root.iterdir()
        if item.is_file() and os.path.splitext(item.name)[1] in _TYPES
    }


def create_app(
    *,
    client_factory: Callable[[], IonQClient] | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    api_version: str = DEFAULT_API_VERSION,
    timeout: float = DEFAULT_TIMEOUT,
    db_path: str | os.PathLike[str] = DEFAULT_DB_PATH,
    interval: float = DEFAULT_INTERVAL,
    names: Iterable[str] | None = None,
    retention: str | float = DEFAULT_RETENTION,
    jitter: float = DEFAULT_WATCH_JITTER,
    sample_seconds: int = SAMPLE_SECONDS,
    unhealthy_after: int = UNHEALTHY_FAILED_ROUNDS,
    allowed_hosts: Iterable[str] = (),
) -> web.Application:
    """The fleet monitor as an aiohttp.web application, to run or to mount with `add_subapp`.

    For its lifetime (a `cleanup_ctx`) it keeps one `IonQClient` (from `client_factory`, else
    built from `api_key`, `base_url`, `api_version` and `timeout`) and one fleet-wide polling
    loop every `interval` seconds over `names` (default: every backend the API lists plus every
    `BackendName`), with history in the SQLite file `db_path`, pruned after `retention`
    (seconds, or a duration such as `"30d"`). It answers only requests for loopback names, the
    address they came in on, and `allowed_hosts` (a 421 otherwise: see `_hosts`).
    """
    keep, chosen = _checked(interval, jitter, sample_seconds, unhealthy_after, retention, names)
    if client_factory is None:
        # Built now, so that a bad base URL or version fails here and not at startup; it opens
        # no connection until the first request.
        client = IonQClient(api_key, base_url=base_url, api_version=api_version, timeout=timeout)

        def client_factory() -> IonQClient:
            return client

    stalled_after = STALLED_INTERVALS * interval + timeout
    monitor = Monitor(
        client_factory=client_factory,
        stale_after=stalled_after,
        names=chosen,
        interval=float(interval),
        jitter=jitter,
        db_path=db_path,
        retention=keep,
        sample_seconds=sample_seconds,
    )
    if isinstance(allowed_hosts, str):
        raise TypeError("allowed_hosts must be an iterable of host names, not one string")
    app = web.Application(middlewares=[host_check(allowed_hosts)])
    app[MONITOR] = monitor
    app[_SETTINGS] = _Settings(_assets(), stalled_after, unhealthy_after)
    app.cleanup_ctx.append(_lifetime)
    app.on_shutdown.append(_shutdown)
    app.on_response_prepare.append(_security_headers)
    metrics = make_aiohttp_handler(monitor.metrics.registry, disable_compression=False)
    app.router.add_get("/", _index)
    app.router.add_get("/static/{name}", _static)
    app.router.add_get("/events", _events)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/api/fleet", _fleet)
    app.router.add_get("/api/history", _history)
    app.router.add_get("/healthz", _healthz)
    ionq_api = IonQApi(monitor, fresh_for=interval, stale_after=stalled_after)
    add_routes(app, ionq_api)
    return app


def _checked(
    interval: float,
    jitter: float,
    sample_seconds: int,
    unhealthy_after: int,
    retention: str | float,
    names: Iterable[str] | None,
) -> tuple[float, list[str] | None]:
    """`create_app`'s arguments checked: the retention in seconds, and the names (or `None`)."""
    if not interval > 0:
        raise ValueError(f"interval must be positive, got {interval!r}")
    if not 0.0 <= jitter < 1.0:
        raise ValueError(f"jitter must be in [0, 1), got {jitter!r}")
    if not isinstance(sample_seconds, int) or sample_seconds < 1:
        raise ValueError(f"sample_seconds must be a positive integer, got {sample_seconds!r}")
    if unhealthy_after < 1:
        raise ValueError(f"unhealthy_after must be at least 1, got {unhealthy_after!r}")
    keep = parse_duration(retention) if isinstance(retention, str) else float(retention)
    if not keep > 0:
        raise ValueError(f"retention must be positive, got {retention!r}")
    if isinstance(names, str):
        raise TypeError("names must be an iterable of names, not one string")
    chosen = None if names is None else list(dict.fromkeys(str(n) for n in names))
    if chosen is not None and not chosen:
        raise ValueError("names must not be empty (pass None to watch the whole fleet)")
    return keep, chosen


async def _lifetime(app: web.Application) -> AsyncIterator[None]:
    monitor = app[MONITOR]
    await monitor.start()
    yield
    await monitor.stop()


async def _shutdown(app: web.Application) -> None:
    app[MONITOR].shutting_down()


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def _now() -> datetime:
    return datetime.now(UTC)


async def _index(request: web.Request) -> web.Response:
    return request.app[_SETTINGS].assets["index.html"].response(request)


async def _static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    asset = request.app[_SETTINGS].assets.get(name)
    if asset is None or name == "index.html":
        raise web.HTTPNotFound()
    return asset.response(request)


async def _events(request: web.Request) -> web.StreamResponse:
    monitor = request.app[MONITOR]
    monitor.metrics.sse_clients.inc()
    try:
        return await stream(
            request,
            monitor.hub,
            ping_interval=SSE_PING_INTERVAL,
            send_timeout=SSE_SEND_TIMEOUT,
            retry_ms=SSE_RETRY_MS,
        )  # the security headers come from `_security_headers`, as on every response
    finally:
        monitor.metrics.sse_clients.dec()


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers={"Cache-Control": "no-store"})


class _BadParam(Exception):
    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


def _bad(exc: _BadParam) -> web.Response:
    return _json({"error": "bad_request", "param": exc.param, "message": str(exc)}, 400)


async def _fleet(request: web.Request) -> web.Response:
    monitor = request.app[MONITOR]
    return _json(monitor.state.to_json(_now(), monitor.interval))


async def _healthz(request: web.Request) -> web.Response:
    monitor = request.app[MONITOR]
    settings = request.app[_SETTINGS]
    health = monitor.state.health(
        _now(), failed_rounds=settings.unhealthy_after, stalled_after=settings.stalled_after
    )
    body = {"status": health.status, "message": health.message, "rounds": monitor.state.rounds}
    return _json(body, 200 if health.ok else 503)


def _one(request: web.Request, name: str) -> str | None:
    values = request.query.getall(name, [])
    if len(values) > 1:
        raise _BadParam(name, f"{name} given {len(values)} times")
    return values[0] if values else None


def _history_params(request: web.Request) -> tuple[str | None, float, float]:
    known = {"backend", "since", "until"}
    for key in request.query:
        if key not in known:
            raise _BadParam(key, f"unknown parameter {key!r} (known: backend, since, until)")
    backend = _one(request, "backend")
    if backend is not None and not 0 < len(backend) <= MAX_NAME_LENGTH:
        raise _BadParam("backend", f"backend must be 1 to {MAX_NAME_LENGTH} characters")
    now = _now().timestamp()
    until_text, since_text = _one(request, "until"), _one(request, "since")
    try:
        until = now if until_text is None else parse_instant(until_text).timestamp()
    except ValueError as exc:
        raise _BadParam("until", str(exc)) from None
    try:
        since = until - DEFAULT_HISTORY_SPAN if since_text is None else _since(since_text, until)
    except ValueError as exc:
        raise _BadParam("since", str(exc)) from None
    if since >= until:
        raise _BadParam("since", "since must be before until")
    if until - since > MAX_HISTORY_SPAN:
        raise _BadParam("since", f"at most {MAX_HISTORY_SPAN / 86400:g} days per query")
    return backend, since, until


def _since(text: str, until: float) -> float:
    """An instant, or a duration back from `until` (`since=24h`)."""
    try:
        return until - parse_duration(text)
    except ValueError:
        pass
    try:
        return parse_instant(text).timestamp()
    except ValueError:
        raise ValueError(
            f"expected a duration back from until (24h, 7d), an ISO-8601 time or Unix seconds, "
            f"got {text!r}"
        ) from None


async def _history(request: web.Request) -> web.Response:
    try:
        backend, since, until = _history_params(request)
    except _BadParam as exc:
        return _bad(exc)
    monitor = request.app[MONITOR]
    step = choose_step(until - since, monitor.sample_seconds, MAX_POINTS)
    rows = await monitor.history.series(backend, since, until, step)
    events = await monitor.history.events(backend, since, until, MAX_EVENTS)
    return _json(
        {
            "backend": backend,
            "since": since,
            "until": until,
            "step": step,
            "series": series_json(rows),
            "events": [event_json(row) for row in events],
        }
    )
