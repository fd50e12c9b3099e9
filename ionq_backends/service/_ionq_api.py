"""IonQ's own public read endpoints, answered from the monitor's rounds, in IonQ's shapes.

Any IonQ client pointed at `serve` (ours with `base_url`, others through their URL setting) then
shares the monitor's one upstream poll. A backends read is answered from what the last round
kept (the monitor polls with `max_age=0`, so its client keeps each answer); a characterization
page, or a read the rounds do not make (v0.3's `?status=verbose`), is asked upstream once and
kept as long. Only a read that nothing kept recently goes upstream, once for all who ask at that
moment (the client's single-flight); a failed one is answered as failed for `fresh_for` seconds,
so that an outage upstream is not made worse by the services behind the monitor.

Only what the monitor's own client can read is served: a backend it cannot read is left out of
a list (asked by name, it is the gateway's 502), and an answer it cannot read at all is a 502.
`Age` counts from when the upstream made the answer (its own `Age`, plus the monitor's keeping).

The endpoints are public: a caller's key is neither needed nor forwarded, and `has_access` (what
the monitor's own key may do) is left out. Names the monitor does not poll get IonQ's 404.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from time import monotonic
from typing import Any, TypeVar

from aiohttp import web

from .._call import Caller, Reply
from .._client import IonQClient
from .._errors import APIStatusError, APITimeoutError, IonQError
from .._models import CharacterizationPage
from .._urls import segment
from .._wire import Request
from .._wire.converter import structurer
from .._wire.hooks import fail
from .._wire.profile import Profile
from .._wire.response import error_body
from ._constants import MAX_FAILED_READS
from ._monitor import Monitor

__all__ = ["PUBLIC", "IonQApi", "add_routes"]

T = TypeVar("T")

# IonQ's public reads, per version: the paths its OpenAPI documents give `security: []`.
PUBLIC = {
    "v0.3": frozenset({"backends"}),
    "v0.4": frozenset({"backends", "backends/{name}", "backends/{name}/characterizations"}),
}
# The query parameters of a characterizations page; any other is dropped, as IonQ ignores it.
_PAGE_PARAMS = ("limit", "page", "start", "end")
# Upstream answers passed on as they came; any other failure is the monitor's gateway's.
_PASSED_STATUSES = frozenset({400, 404})
# RFC 9111 4.2.3: an Age past 2**31 seconds is read as 2**31.
_MAX_AGE_VALUE = 2**31


class IonQApi:
    """The handlers, for one monitor. `fresh_for`: seconds an answer is fresh (the round's
    interval, sent as `Cache-Control: max-age`); `stale_after`: the age past which a kept answer
    is not served and the read goes upstream (the monitor counts as stalled by then)."""

    def __init__(self, monitor: Monitor, *, fresh_for: float, stale_after: float) -> None:
        self.monitor = monitor
        self.fresh_for = fresh_for
        self.stale_after = stale_after
        self._failed: dict[Request, tuple[float, IonQError]] = {}

    def _client(self) -> IonQClient:
        client = self.monitor.client
        if client is None:
            raise _error(503, "the monitor is starting", self.fresh_for)
        return client

    def _upstream(self, request: web.Request, route: str) -> tuple[IonQClient, Caller, Profile]:
        """The monitor's own client, its caller (whose answers and flights every read shares)
        and its profile, if `route` is a public read of the version it polls; else IonQ's 404."""
        client = self._client()
        version = client.api_version
        if request.match_info["version"] != version or route not in PUBLIC[version]:
            raise _not_served(request, version)
        return client, client._caller, client._profile

    async def backends(self, request: web.Request) -> web.Response:
        """`GET backends` (v0.3 also `?status=verbose`): the backends the monitor can read."""
        client, caller, profile = self._upstream(request, "backends")
        verbose = profile.verbose_status and request.query.get("status") == "verbose"
        wire = profile.list_backends(verbose=verbose)

        def readable_items(data: Any) -> list[Any]:
            if type(data) is not list:
                fail("array of backends", data)
            return [_public(item) for item in data if _readable(client._backend, item)]

        reply, items = await self._read(caller, wire, readable_items)
        return self._answer(reply, items)

    async def backend(self, request: web.Request) -> web.Response:
        """`GET backends/{name}`: from the list the round kept, else asked by name."""
        client, caller, profile = self._upstream(request, "backends/{name}")
        name = self._polled(request)
        listing = caller.kept(profile.list_backends(), self.stale_after)
        found = _listed(listing.data, name) if listing is not None else None
        if listing is not None and found is not None and _readable(client._backend, found):
            return self._answer(listing, _public(found))
        wire = profile.backend(segment(name, "backend name"))
        reply, _ = await self._read(caller, wire, client._backend)
        return self._answer(reply, _public(reply.data))

    async def characterizations(self, request: web.Request) -> web.Response:
        """`GET backends/{name}/characterizations`: one page, as asked."""
        client, caller, profile = self._upstream(request, "backends/{name}/characterizations")
        quoted = segment(self._polled(request), "backend name")
        params = {key: request.query[key] for key in _PAGE_PARAMS if key in request.query}
        wire = profile.characterizations(quoted, params)
        reply, _ = await self._read(
            caller, wire, structurer(client._converter, CharacterizationPage)
        )
        return self._answer(reply, reply.data)

    async def refuse(self, request: web.Request) -> web.Response:
        """Any other read under a version root: IonQ's 404, saying what is answered."""
        raise _not_served(request, self._client().api_version)

    def _polled(self, request: web.Request) -> str:
        """The request's backend name, if the monitor polls it: else IonQ's 404 (503 before
        the first round, when it cannot tell yet)."""
        name = request.match_info["name"]
        state = self.monitor.state
        if name in state.views:
            return name
        if state.rounds == 0:
            raise _error(503, "the monitor has not finished its first round", self.fresh_for)
        raise _error(404, f"backend {name!r} is not polled by this monitor")

    async def _read(
        self, caller: Caller, wire: Request, read: Callable[[Any], T]
    ) -> tuple[Reply, T]:
        """The answer to `wire` (kept by a round, or asked upstream once for all who ask) and
        what `read` makes of it. A failure, upstream's or an answer the monitor cannot read
        (the call loop's one error boundary places it, and keeps no such answer), is the
        gateway's, and is answered as failed for `fresh_for` seconds."""
        failed = self._failed.get(wire)
        if failed is not None and monotonic() - failed[0] < self.fresh_for:
            raise _upstream_error(failed[1], self.fresh_for)
        try:
            reply = await caller.reply(wire, max_age=self.stale_after)
            made = caller.parse(reply, read, wire)
        except IonQError as error:
            self._failed.pop(wire, None)
            self._failed[wire] = (monotonic(), error)
            if len(self._failed) > MAX_FAILED_READS:
                del self._failed[next(iter(self._failed))]
            raise _upstream_error(error, self.fresh_for) from None
        self._failed.pop(wire, None)
        return reply, made

    def _answer(self, reply: Reply, data: Any) -> web.Response:
        headers = {
            "Age": str(_age(reply)),
            "Cache-Control": f"public, max-age={math.ceil(self.fresh_for)}",
        }
        body = json.dumps(data, separators=(",", ":")).encode()
        return web.Response(body=body, content_type="application/json", headers=headers)


def add_routes(app: web.Application, api: IonQApi) -> None:
    """IonQ's public reads; which of them a monitor answers depends on the version it polls."""
    version = r"/{version:v\d+\.\d+}"
    app.router.add_get(f"{version}/backends", api.backends)
    app.router.add_get(f"{version}/backends/{{name}}", api.backend)
    app.router.add_get(f"{version}/backends/{{name}}/characterizations", api.characterizations)
    app.router.add_get(version, api.refuse)
    app.router.add_get(f"{version}/{{path:.*}}", api.refuse)


def _not_served(request: web.Request, version: str) -> web.HTTPException:
    reads = ", ".join(sorted(PUBLIC[version]))
    return _error(
        404,
        f"GET {request.path} is not answered by this monitor: it answers IonQ's public reads "
        f"of {version}, the version it polls ({reads})",
    )


_REFUSALS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    404: web.HTTPNotFound,
    502: web.HTTPBadGateway,
    503: web.HTTPServiceUnavailable,
    504: web.HTTPGatewayTimeout,
}


def _error(status: int, message: str, retry_after: float | None = None) -> web.HTTPException:
    """An answer in IonQ's error shape, raised from a handler."""
    headers = {} if retry_after is None else {"Retry-After": str(math.ceil(retry_after))}
    body = json.dumps(error_body(status, message))
    return _REFUSALS[status](headers=headers, text=body, content_type="application/json")


def _upstream_error(error: IonQError, fresh_for: float) -> web.HTTPException:
    """How a failed upstream read is answered: its own 400 or 404, else the gateway's. The
    upstream's Retry-After is passed on up to `fresh_for`: the monitor asks again by then."""
    if isinstance(error, APIStatusError) and error.status_code in _PASSED_STATUSES:
        return _error(error.status_code, error.message)
    status = 504 if isinstance(error, APITimeoutError) else 502
    wait = error.retry_after if isinstance(error, APIStatusError) else None
    return _error(status, f"upstream: {error}", None if wait is None else min(wait, fresh_for))


def _age(reply: Reply) -> int:
    """Seconds since the upstream made `reply`: its own `Age`, if it sent one, plus how long
    the monitor has kept it (RFC 9111 4.2.3)."""
    said = reply.headers.get("Age", "").strip()
    upstream = 0
    if said.isascii() and said.isdigit():
        upstream = _MAX_AGE_VALUE if len(said) > 10 else min(int(said), _MAX_AGE_VALUE)
    return upstream + max(0, int(monotonic() - reply.received))


def _readable(read: Callable[[Any], Any], item: Any) -> bool:
    """Whether the monitor's client can read `item` (a backend of a list)."""
    try:
        read(item)
    except IonQError:
        return False
    return True


def _listed(data: Any, name: str) -> Any:
    if type(data) is list:
        for item in data:
            if type(item) is dict and item.get("backend") == name:
                return item
    return None


def _public(item: Any) -> Any:
    """A backend object as IonQ answers a caller without a key: no `has_access`."""
    if type(item) is dict and "has_access" in item:
        return {key: value for key, value in item.items() if key != "has_access"}
    return item


def _public_items(data: Any) -> Any:
    return [_public(item) for item in data] if type(data) is list else data
