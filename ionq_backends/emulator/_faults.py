"""The emulator's injected faults: a queue per path, and the answers they make."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any

import attrs
from aiohttp import web

from .. import _params
from .._wire.response import error_body

__all__ = ["Fault", "Faults", "disconnect", "error", "json_response"]


@attrs.define
class Fault:
    """One injected fault: what the next `times` requests for a path meet."""

    status: int
    times: int
    retry_after: float | str | None
    body: Any
    delay: float
    disconnect: bool

    def __attrs_post_init__(self) -> None:
        _params.integer("status", self.status, low=100, high=599)
        _params.integer("times", self.times, low=1)
        _params.finite("delay", self.delay, inclusive=True)
        if self.retry_after is not None and not isinstance(self.retry_after, str):
            _params.finite("retry_after", self.retry_after, inclusive=True)

    def response(self) -> web.Response:
        return _response(self)


class Faults:
    """The faults queued per path, first in first out."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Fault]] = {}

    def add(self, path: str, fault: Fault) -> None:
        self._queues.setdefault("/" + path.lstrip("/"), deque()).append(fault)

    def clear(self) -> None:
        self._queues.clear()

    def take(self, path: str) -> Fault | None:
        """The fault the next request for `path` meets, if any (one of its `times` used)."""
        queue = self._queues.get(path)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.popleft()
        return fault


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(data, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
    )


def error(status: int, message: str, **more: Any) -> web.Response:
    return json_response(error_body(status, message, **more), status)


def _response(fault: Fault) -> web.Response:
    """The answer a fault makes: IonQ's error shape, or the body it was given."""
    headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
    if fault.body is None:
        response = error(fault.status, f"injected fault ({fault.status})")
    elif isinstance(fault.body, str | bytes):
        raw = fault.body.encode() if isinstance(fault.body, str) else fault.body
        html = raw.lstrip()[:1] == b"<"
        response = web.Response(
            body=raw,
            status=fault.status,
            content_type="text/html" if html else "application/json",
        )
    else:
        response = json_response(fault.body, fault.status)
    response.headers.update(headers)
    return response


async def disconnect(request: web.Request) -> web.StreamResponse:
    """Send part of an answer, then drop the connection."""
    response = web.StreamResponse(status=200, headers={"Content-Length": "4096"})
    response.content_type = "application/json"
    await response.prepare(request)
    await response.write(b'[{"backend": "qpu.')
    if request.transport is not None:
        request.transport.close()
    # The connection is gone: tell aiohttp not to finish an answer nobody can read.
    raise asyncio.CancelledError
