"""HTTP I/O for one client: the session, the concurrency bound, attempts, the body cap, redirects.

What an answer means is decided by the pure `_wire.decipher_response`, and whether to try again by
the pure `_retry` policy. Every failure leaves here as an `IonQError` that names its request.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import math
import zlib
from collections.abc import Awaitable, Callable, Mapping
from time import monotonic
from typing import Any, NamedTuple, TypeVar

import aiohttp
from yarl import URL

from ._constants import (
    MAX_BODY_BYTES,
    MAX_CONNECT_TIMEOUT,
    MAX_REDIRECTS,
    URL_CACHE_SIZE,
    USER_AGENT,
)
from ._deadline import Deadlines
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    IonQError,
    ResponseValidationError,
)
from ._logging import logger
from ._retry import RetryPolicy
from ._scrub import Scrubber
from ._urls import same_origin
from ._wire import Request, decipher_response

__all__ = ["Reply", "Secret", "Sleep", "Transport", "client_timeout"]

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class Secret(str):
    """A header value that sends as itself but never shows in a repr."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'[REDACTED]'"


def client_timeout(timeout: float | aiohttp.ClientTimeout) -> aiohttp.ClientTimeout:
    """`T` seconds means total=T, connect=min(10, T), sock_read=T; a ClientTimeout passes as is."""
    if isinstance(timeout, aiohttp.ClientTimeout):
        return timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise TypeError(f"timeout must be seconds or a ClientTimeout, got {type(timeout).__name__}")
    if not (timeout > 0 and math.isfinite(timeout)):
        raise ValueError(f"timeout must be a finite number of seconds > 0, got {timeout!r}")
    return aiohttp.ClientTimeout(
        total=timeout, connect=min(MAX_CONNECT_TIMEOUT, timeout), sock_read=timeout
    )


class Reply(NamedTuple):
    """A successful answer: its JSON and the HTTP facts of the call that got it."""

    data: Any
    path: str
    request_id: str | None
    status: int
    headers: Mapping[str, str]
    attempts: int
    elapsed: float
    scrubber: Scrubber
    # Sent without the key, after the API rejected it on a public endpoint.
    anonymous: bool = False

    def parse(self, parse: Callable[[Any], T]) -> T:
        """`parse(self.data)`; whatever it raises about the body names this request."""
        try:
            return parse(self.data)
        except IonQError as error:
            raise self.fail(error) from None
        except (ValueError, TypeError, ArithmeticError, RecursionError, LookupError) as exc:
            # A body no parser foresaw is still the server's doing: a validation error, not a crash.
            problem = ("", f"unreadable body ({type(exc).__name__}: {str(exc)[:80]})")
            raise self.fail(ResponseValidationError([problem])) from exc

    def fail(self, error: IonQError) -> IonQError:
        """`error`, placed at this request and scrubbed of the key."""
        return in_context(error, self.path, self.request_id, self.scrubber)


def in_context(
    error: IonQError, path: str, request_id: str | None, scrubber: Scrubber
) -> IonQError:
    """The one place a request's method, path and id are attached to an error, and the key
    scrubbed from whatever the server said in it."""
    return scrubber.error(error.with_context(method="GET", path=path, request_id=request_id))


class Transport:
    """Issues GETs under `root` (`<base_url>/<version>/`) for one client."""

    def __init__(
        self,
        *,
        root: URL,
        api_key: str | None,
        timeout: aiohttp.ClientTimeout,
        policy: RetryPolicy,
        max_concurrency: int,
        session: aiohttp.ClientSession | None,
        sleep: Sleep,
        random: Callable[[], float],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._root = root
        self._prefix = str(root).rstrip("/") + "/"
        self._set_timeout(timeout)
        self._policy = policy
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._max_concurrency = max_concurrency
        self._borrowed = session
        self._session: aiohttp.ClientSession | None = session
        self._closed = False
        self._sleep = sleep
        self._random = random
        # Built once: the only place the key lives, in a str whose repr hides it (a traceback
        # that captures frame locals, in aiohttp's frames too, prints reprs).
        # Bodies are decoded here, under the cap, so only encodings we decode are asked for.
        self._headers: dict[str, str] = {
            "User-Agent": USER_AGENT,
            **(headers or {}),
            "Accept-Encoding": ENCODINGS,
        }
        if api_key:
            self._headers["Authorization"] = Secret(f"apiKey {api_key}")
        self._scrubber = Scrubber(api_key)
        # A session of our own carries the headers and timeout as its defaults (counted with
        # callgrind: 13k fewer instructions a request than passing them); a borrowed one gets
        # them with every request.
        self._per_request: dict[str, Any] = {"allow_redirects": False, "auto_decompress": False}
        if session is not None:
            self._per_request |= {"headers": self._headers, "timeout": self._aiohttp_timeout}
        # A transport derived by `with_options()` uses its parent's session and never closes it.
        self._parent: Transport | None = None
        # What the latest failed attempt met, whether or not it was retried.
        self.last_failure: IonQError | None = None
        # After a 401 to the key on a public endpoint, public requests go without it.
        self.key_rejected = False
        self._has_key = bool(api_key)
        self._anonymous: tuple[aiohttp.ClientSession, dict[str, Any]] | None = None
        # Parsed URLs by request: a poller asks for the same few paths all day.
        self._urls: dict[Request, tuple[URL, str]] = {}

    def __repr__(self) -> str:
        return f"Transport(root={str(self._root)!r})"

    def _set_timeout(self, timeout: aiohttp.ClientTimeout) -> None:
        self._timeout = timeout
        # `total` bounds each attempt through `Deadlines`, not aiohttp's timer: aiohttp's own
        # can swallow a caller's cancellation that lands in the same loop iteration (its
        # uncancel), and a swallowed deadline turns into retries.
        self._total = timeout.total
        self._deadlines = Deadlines(self._total)
        sock_read = timeout.sock_read
        if sock_read is not None and self._total is not None and sock_read >= self._total:
            sock_read = None  # the attempt's own deadline comes first: one timer, not two
        self._aiohttp_timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeout.connect,
            sock_read=sock_read,
            sock_connect=timeout.sock_connect,
            ceil_threshold=timeout.ceil_threshold,
        )

    def derive(self, *, timeout: aiohttp.ClientTimeout, policy: RetryPolicy) -> Transport:
        """A transport with its own timeout and retry policy on this one's session, pool and
        concurrency bound. Closing it leaves this one open."""
        child = copy.copy(self)
        child._parent = self
        child._set_timeout(timeout)
        child._policy = policy
        child._session = None
        child._anonymous = None
        child._urls = {}
        # The parent's session carries the parent's timeout: the child's goes with each request.
        child._per_request = {**self._per_request, "timeout": child._aiohttp_timeout}
        return child

    @property
    def timeout(self) -> aiohttp.ClientTimeout:
        return self._timeout

    @property
    def policy(self) -> RetryPolicy:
        return self._policy

    @property
    def closed(self) -> bool:
        return self._closed or (self._parent is not None and self._parent.closed)

    def check_open(self) -> None:
        """Raise `RuntimeError` if the client (or the one it was derived from) was closed."""
        if self._closed or (self._parent is not None and self._parent.closed):
            raise RuntimeError("this IonQClient is closed")

    def _get_session(self) -> aiohttp.ClientSession:
        if self._parent is not None:
            self.check_open()
            return self._parent._get_session()
        if self._session is None:  # close() clears it, so a closed client always lands here
            self.check_open()
            # The pool matches the semaphore: more connections could never be used at once.
            connector = aiohttp.TCPConnector(limit=self._max_concurrency)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._aiohttp_timeout,
                headers=self._headers,
            )
        return self._session

    async def close(self) -> None:
        """Close the session if it is ours; a borrowed one stays open. Idempotent."""
        self._closed = True
        self._deadlines.close()
        session, self._session = self._session, None
        anonymous, self._anonymous = self._anonymous, None
        if anonymous is not None and anonymous[0] is not session:
            await anonymous[0].close()  # it shares the pool: closing it leaves the pool open
        if session is not None and session is not self._borrowed and self._parent is None:
            await session.close()

    def _reject_key(self, session: aiohttp.ClientSession) -> None:
        """From now on, send public requests without the key (one WARNING per client)."""
        self.key_rejected = True
        logger.warning(
            "the API answered 401 to the API key on a public endpoint; public requests of this "
            "client now go without the key (characterizations keep it)"
        )
        keyless = {k: v for k, v in self._headers.items() if k != "Authorization"}
        if session is self._borrowed:
            self._anonymous = session, {**self._per_request, "headers": keyless}
        else:  # a second session on the same pool, whose default headers lack the key
            other = aiohttp.ClientSession(
                connector=session.connector,
                connector_owner=False,
                timeout=self._aiohttp_timeout,
                headers=keyless,
            )
            self._anonymous = other, self._per_request

    async def get(self, request: Request) -> Reply:
        """GET `request` and decode its JSON, retrying and following same-origin redirects.

        One loop serves retries and redirects, so that the usual request runs in this one
        coroutine (each extra layer is paid again at every suspension).
        """
        url, display = self._url(request)
        session = self._get_session()
        per_request = self._per_request
        anonymous = request.public and self.key_rejected
        if anonymous and self._anonymous is not None:
            session, per_request = self._anonymous
        retry = redirects = 0
        began = started = monotonic()
        while True:
            status: int | None = None
            try:
                async with self._semaphore:
                    with self._deadlines.attempt():
                        async with session.get(url, **per_request) as resp:
                            status = resp.status
                            headers = resp.headers
                            location = headers.get("Location") if status in _REDIRECTS else None
                            if location:
                                url = self._redirect(url, location, resp, redirects)
                                redirects += 1
                                started = monotonic()
                                continue
                            length = resp.content_length
                            # The usual answer is small, its length known.
                            if length is not None and length <= MAX_BODY_BYTES:
                                body = await resp.read()
                            else:
                                body = await _read_capped(resp)
                coding = headers.get("Content-Encoding")
                if coding is not None:
                    body = decode_body(body, coding, headers.get("x-request-id"))
                data = decipher_response(status, headers, body)
            except IonQError as error:
                failure = error
            except TimeoutError as exc:  # the attempt's total, and aiohttp's ServerTimeoutError
                failure = APITimeoutError(_timed_out(exc, self._timeout))
                status = None
            except aiohttp.ClientError as exc:
                failure = APIConnectionError(_describe(exc))
                status = None
            except RuntimeError as exc:
                if not self.closed:
                    raise
                # close() while this request was in flight: aiohttp's "Session is closed".
                raise self._fail(APIConnectionError("the client was closed"), display) from exc
            else:
                if logger.isEnabledFor(logging.DEBUG):
                    _log(display, status, retry, started)
                request_id = headers.get("x-request-id")
                return Reply(
                    data,
                    display,
                    request_id,
                    status,
                    headers,
                    retry + 1,
                    monotonic() - began,
                    self._scrubber,
                    anonymous,
                )
            failure = self.last_failure = self._fail(failure, display)
            if status is None and _cancelling():
                # The caller's deadline or cancel landed while aiohttp was waiting: never a retry.
                raise asyncio.CancelledError
            if self.closed:
                raise self._fail(APIConnectionError("the client was closed"), display)
            if status == 401 and request.public and self._has_key and not anonymous:
                if not self.key_rejected:
                    self._reject_key(session)
                assert self._anonymous is not None
                session, per_request = self._anonymous
                anonymous = True
                started = monotonic()
                continue  # once more without the key, at once: not a retry of a failure
            decision = self._policy.decide(
                retry,
                status=status,
                retry_after=getattr(failure, "retry_after", None),
                random=self._random,
            )
            if logger.isEnabledFor(logging.DEBUG):
                _log(display, status or type(failure).__name__, retry, started)
            if not decision.retry:
                raise failure
            logger.info(
                "retrying GET %s in %.2fs (retry %d of %d)",
                display,
                decision.delay,
                retry + 1,
                self._policy.max_retries,
            )
            await self._sleep(decision.delay)
            retry += 1
            started = monotonic()

    def _fail(self, error: IonQError, display: str) -> IonQError:
        return in_context(error, display, None, self._scrubber)

    def _url(self, request: Request) -> tuple[URL, str]:
        """The URL of `request`, and its path for messages and logs."""
        found = self._urls.get(request)
        if found is None:
            url = URL(self._prefix + request.path, encoded=True)
            if request.params:
                url = url.with_query(request.params)
            found = url, "/" + url.path.lstrip("/")
            if len(self._urls) >= URL_CACHE_SIZE:
                self._urls.clear()
            self._urls[request] = found
        return found

    def _redirect(self, url: URL, location: str, resp: aiohttp.ClientResponse, hops: int) -> URL:
        """Where a redirect leads, if it may be followed: same origin, at most MAX_REDIRECTS."""
        try:
            target = url.join(URL(location))
            foreign = not same_origin(self._root, target)
        except (ValueError, TypeError):  # a bad port, a broken IPv6 literal, ...
            target, foreign = None, True
        if target is None:
            message = "refused redirect to a malformed Location"
        elif foreign:
            message = f"refused redirect to another origin ({target.scheme}://{target.host})"
        elif target.user is not None or target.password is not None:
            message = "refused redirect to a Location carrying credentials"
        elif hops >= MAX_REDIRECTS:
            message = f"more than {MAX_REDIRECTS} redirects"
        else:
            return target
        raise APIStatusError(
            message, status_code=resp.status, request_id=resp.headers.get("x-request-id")
        )


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


# Content codings we decode ourselves (aiohttp's own decoding is turned off): the cap must bound
# the decoded size, and a small gzip answer can inflate to gigabytes.
ENCODINGS = "gzip, deflate"
_WBITS = {"gzip": (16 + zlib.MAX_WBITS,), "x-gzip": (16 + zlib.MAX_WBITS,),
          "deflate": (zlib.MAX_WBITS, -zlib.MAX_WBITS)}  # fmt: skip
_MAX_CODINGS = 2


def decode_body(body: bytes, coding: str, request_id: str | None) -> bytes:
    """Undo `Content-Encoding`, refusing any answer that decodes past MAX_BODY_BYTES.

    zlib is asked for at most the cap plus one byte at each step, so a bomb costs no more memory
    than the cap, however small it was on the wire.
    """
    codings = [c.strip().lower() for c in coding.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if len(codings) > _MAX_CODINGS:
        raise _invalid(f"{len(codings)} content codings; at most {_MAX_CODINGS}", request_id)
    for name in reversed(codings):
        if name not in _WBITS:
            raise _invalid(f"unsupported Content-Encoding {name[:20]!r}", request_id)
        body = _inflate(body, name, request_id)
    return body


def _inflate(data: bytes, name: str, request_id: str | None) -> bytes:
    for wbits in _WBITS[name]:  # deflate comes zlib-wrapped or raw, whatever RFC 9110 says
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(data, MAX_BODY_BYTES + 1)
        except zlib.error:
            continue
        if len(out) > MAX_BODY_BYTES or inflater.unconsumed_tail:
            raise _invalid(
                f"response body exceeds the {MAX_BODY_BYTES} byte cap once decoded", request_id
            )
        return out
    raise _invalid(f"body is not valid {name}", request_id)


def _invalid(problem: str, request_id: str | None) -> ResponseValidationError:
    return ResponseValidationError([("", problem)], request_id=request_id)


async def _read_capped(resp: aiohttp.ClientResponse) -> bytes:
    """Read a body too long or of unknown length, refusing it past MAX_BODY_BYTES unread."""
    if resp.content_length is not None:  # announced over the cap
        raise _too_large(resp)
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large(resp)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(resp: aiohttp.ClientResponse) -> ResponseValidationError:
    return ResponseValidationError(
        [("", f"response body exceeds the {MAX_BODY_BYTES} byte cap; refused unread")],
        request_id=resp.headers.get("x-request-id"),
    )


def _timed_out(exc: TimeoutError, timeout: aiohttp.ClientTimeout) -> str:
    if isinstance(exc, aiohttp.ClientError):  # connect or sock_read: aiohttp says which
        return _describe(exc)
    return f"timed out after {timeout.total:g}s" if timeout.total else "timed out"


def _describe(exc: aiohttp.ClientError) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):  # the cause, not aiohttp's ssl:default [...]
        where = f"{exc.host}:{exc.port}"
        if isinstance(exc.os_error, ConnectionRefusedError):
            return f"connection refused to {where}"
        reason = exc.os_error.strerror or str(exc.os_error) or type(exc.os_error).__name__
        return f"cannot connect to {where}: {reason}"
    # aiohttp's messages name the host and port, never headers: safe to keep.
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text


def _log(display: str, outcome: object, retry: int, started: float) -> None:
    elapsed = monotonic() - started
    logger.debug("GET %s -> %s attempt=%d elapsed=%.3fs", display, outcome, retry + 1, elapsed)
