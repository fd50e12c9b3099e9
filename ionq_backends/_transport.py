"""HTTP I/O for one client: the session, the concurrency bound, attempts, the body cap, redirects.

What an answer means is decided by the pure `_wire.decipher_response`, and whether to try again by
the pure `_retry` policy. Every failure leaves here as an `IonQError` that names its request.
"""

from __future__ import annotations

import asyncio
import logging
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
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    IonQError,
    ResponseValidationError,
)
from ._logging import logger
from ._retry import RetryPolicy
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
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
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

    def parse(self, parse: Callable[[Any], T]) -> T:
        """`parse(self.data)`; whatever it raises about the body names this request."""
        try:
            return parse(self.data)
        except IonQError as error:
            raise in_context(error, self.path, self.request_id) from None
        except (ValueError, TypeError, ArithmeticError, RecursionError, LookupError) as exc:
            # A body no parser foresaw is still the server's doing: a validation error, not a crash.
            problem = ("", f"unreadable body ({type(exc).__name__}: {str(exc)[:80]})")
            unreadable = ResponseValidationError([problem])
            raise in_context(unreadable, self.path, self.request_id) from exc


def in_context(error: IonQError, path: str, request_id: str | None = None) -> IonQError:
    """The one place a request's method, path and id are attached to an error."""
    return error.with_context(method="GET", path=path, request_id=request_id)


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
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency!r}")
        self._root = root
        self._prefix = str(root).rstrip("/") + "/"
        self._timeout = timeout
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
        self._headers: dict[str, str] = {"User-Agent": USER_AGENT}
        if api_key:
            self._headers["Authorization"] = Secret(f"apiKey {api_key}")
        # A session of our own carries the headers and timeout as its defaults (counted with
        # callgrind: 13k fewer instructions a request than passing them); a borrowed one gets
        # them with every request.
        self._per_request: dict[str, Any] = {"allow_redirects": False}
        if session is not None:
            self._per_request |= {"headers": self._headers, "timeout": timeout}
        # Parsed URLs by request: a poller asks for the same few paths all day.
        self._urls: dict[Request, tuple[URL, str]] = {}

    def __repr__(self) -> str:
        return f"Transport(root={str(self._root)!r})"

    @property
    def closed(self) -> bool:
        return self._closed

    def check_open(self) -> None:
        """Raise `RuntimeError` if the client was closed."""
        if self._closed:
            raise RuntimeError("this IonQClient is closed")

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:  # close() clears it, so a closed client always lands here
            self.check_open()
            # The pool matches the semaphore: more connections could never be used at once.
            connector = aiohttp.TCPConnector(limit=self._max_concurrency)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, headers=self._headers
            )
        return self._session

    async def close(self) -> None:
        """Close the session if it is ours; a borrowed one stays open. Idempotent."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and session is not self._borrowed:
            await session.close()

    async def get(self, request: Request) -> Reply:
        """GET `request` and decode its JSON, retrying and following same-origin redirects.

        One loop serves retries and redirects, so that the usual request runs in this one
        coroutine (each extra layer is paid again at every suspension).
        """
        url, display = self._url(request)
        session = self._get_session()
        retry = redirects = 0
        began = monotonic()
        while True:
            started = monotonic()
            status: int | None = None
            try:
                async with self._semaphore, session.get(url, **self._per_request) as resp:
                    status = resp.status
                    headers = resp.headers
                    location = headers.get("Location") if status in _REDIRECTS else None
                    if location:
                        url = self._redirect(url, location, resp, redirects)
                        redirects += 1
                        continue
                    length = resp.content_length
                    if length is not None and length <= MAX_BODY_BYTES:
                        body = await resp.read()  # the usual answer: small, its length known
                    else:
                        body = await _read_capped(resp)
                data = decipher_response(status, headers, body)
            except IonQError as error:
                failure = error
            except TimeoutError as exc:  # aiohttp's total timeout, and ServerTimeoutError
                failure = APITimeoutError(_timed_out(exc, self._timeout))
                status = None
            except aiohttp.ClientError as exc:
                failure = APIConnectionError(_describe(exc))
                status = None
            except RuntimeError as exc:
                if not self._closed:
                    raise
                # close() while this request was in flight: aiohttp's "Session is closed".
                raise in_context(APIConnectionError("the client was closed"), display) from exc
            else:
                if logger.isEnabledFor(logging.DEBUG):
                    _log(display, status, retry, started)
                request_id = headers.get("x-request-id")
                return Reply(
                    data, display, request_id, status, headers, retry + 1, monotonic() - began
                )
            failure = in_context(failure, display)
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
        target = url.join(URL(location))
        if not same_origin(self._root, target):
            message = f"refused redirect to another origin ({target.scheme}://{target.host})"
        elif hops >= MAX_REDIRECTS:
            message = f"more than {MAX_REDIRECTS} redirects"
        else:
            return target
        raise APIStatusError(
            message, status_code=resp.status, request_id=resp.headers.get("x-request-id")
        )


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
    # aiohttp's messages name the host and port, never headers: safe to keep.
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text


def _log(display: str, outcome: object, retry: int, started: float) -> None:
    elapsed = monotonic() - started
    logger.debug("GET %s -> %s attempt=%d elapsed=%.3fs", display, outcome, retry + 1, elapsed)
