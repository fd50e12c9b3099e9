"""Which `Host` headers the monitor answers: a defence against DNS rebinding.

A page on `evil.example` that rebinds its name to 127.0.0.1 reaches the monitor from the
user's own browser, same-origin, with `Host: evil.example`. The monitor answers only the names
it serves: loopback names, the address the request came in on, and the hosts it was told of
(`--allowed-host`, for a reverse proxy's public name). Anything else gets a 421.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from yarl import URL

from .._urls import is_loopback

__all__ = ["host_check", "served"]


def served(host: str, local_address: str | None, allowed: frozenset[str]) -> bool:
    """Whether a request whose `Host` header is `host` is for this monitor (pure)."""
    try:
        name = URL(f"http://{host}").host
    except ValueError:
        return False
    if not name:
        return False
    name = name.lower().rstrip(".")
    local = (local_address or "").lower()
    return is_loopback(name) or name == local or name in allowed


def host_check(allowed_hosts: Iterable[str]) -> Middleware:
    """Middleware answering 421 to a request for a host the monitor does not serve."""
    allowed = frozenset(h.lower().rstrip(".") for h in allowed_hosts)

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        local = sockname[0] if isinstance(sockname, tuple) and sockname else None
        if not served(request.host, local, allowed):
            message = (f"this monitor does not serve the host {request.host[:100]!r}; "
                       "start it with --allowed-host NAME to serve it")  # fmt: skip
            return web.json_response({"error": "misdirected", "message": message}, status=421)
        return await handler(request)

    return check
