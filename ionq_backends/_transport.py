"""HTTP I/O: one GET with the session, the concurrency bound, retries, redirects and body cap.

Every failure leaves here as an `IonQError`; decisions are made by the pure `_retry` module.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random as _random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import attrs
from yarl import URL

from ._constants import MAX_BODY_BYTES, MAX_CONNECT_TIMEOUT, MAX_REDIRECTS, USER_AGENT
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    IonQError,
    ResponseValidationError,
    error_for_status,
    parse_error_body,
)
from ._logging import logger
from ._retry import RetryPolicy, parse_retry_after
from ._urls import same_origin

__all__ = ["Reply", "Secret", "Transport", "make_timeout"]

Sleep = Callable[[float], Awaitable[None]]
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class Secret(str):
    """A header value that sends as itself but never shows in a repr."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'[REDACTED]'"


def make_timeout(timeout: float | aiohttp.ClientTimeout) -> aiohttp.ClientTimeout:
    """`T` seconds means total=T, connect=min(10, T), sock_read=T; a ClientTimeout passes as is."""
    if isinstance(timeout, aiohttp.ClientTimeout):
        return timeout
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
    return aiohttp.ClientTimeout(
        total=timeout, connect=min(MAX_CONNECT_TIMEOUT, timeout), sock_read=timeout
    )


@attrs.frozen
class Reply:
    """A successful answer: its JSON and where it came from."""

    data: Any
    path: str
    request_id: str | None


@attrs.frozen
class _Answer:
    status: int
    body: bytes
    request_id: str | None
    retry_after: float | None


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
        random: Callable[[], float] | None,
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
        self._random = random or _random.random
        # Built once: the only place the key lives, in a str whose repr hides it (a traceback
        # that captures frame locals, in aiohttp's frames too, prints reprs).
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if api_key:
            self._headers["Authorization"] = Secret(f"apiKey {api_key}")

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
        self.check_open()
        if self._session is None:
            # The pool matches the semaphore: more connections could never be used at once.
            connector = aiohttp.TCPConnector(limit=self._max_concurrency)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        """Close the session if it is ours; a borrowed one stays open. Idempotent."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and session is not self._borrowed:
            await session.close()

    async def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Reply:
        """GET `path` (already quoted, relative to the version root) and decode its JSON."""
        url = URL(self._prefix + path, encoded=True)
        if params:
            url = url.with_query(params)
        display = "/" + url.path.lstrip("/")
        session = self._get_session()
        retry = 0
        while True:
            started = asyncio.get_running_loop().time()
            failure: IonQError
            status: int | None = None
            try:
                async with self._semaphore:
                    answer = await self._fetch(session, url, display)
            except TimeoutError as exc:  # aiohttp's total timeout, and ServerTimeoutError
                failure = APITimeoutError(
                    _timed_out(exc, self._timeout), method="GET", path=display
                )
            except aiohttp.ClientError as exc:
                failure = APIConnectionError(_describe(exc), method="GET", path=display)
            else:
                status = answer.status
                if 200 <= status < 300:
                    _log(display, status, retry, started)
                    return Reply(_decode(answer, display), display, answer.request_id)
                failure = _status_error(answer, display)
            decision = self._policy.decide(
                retry,
                status=status,
                retry_after=getattr(failure, "retry_after", None),
                random=self._random,
            )
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

    async def _fetch(self, session: aiohttp.ClientSession, url: URL, display: str) -> _Answer:
        for _ in range(MAX_REDIRECTS + 1):
            async with session.get(
                url, headers=self._headers, timeout=self._timeout, allow_redirects=False
            ) as resp:
                location = resp.headers.get("Location")
                if resp.status in _REDIRECTS and location:
                    target = url.join(URL(location))
                    if not same_origin(self._root, target):
                        raise APIStatusError(
                            f"refused redirect to another origin ({target.scheme}://{target.host})",
                            status_code=resp.status,
                            request_id=resp.headers.get("x-request-id"),
                            method="GET",
                            path=display,
                        )
                    url = target
                    continue
                body = await _read_capped(resp, display)
                retry_after = None if resp.status < 400 else parse_retry_after(resp.headers)
                return _Answer(resp.status, body, resp.headers.get("x-request-id"), retry_after)
        raise APIStatusError(
            f"more than {MAX_REDIRECTS} redirects", status_code=310, method="GET", path=display
        )


async def _read_capped(resp: aiohttp.ClientResponse, display: str) -> bytes:
    """Read the body, refusing one over MAX_BODY_BYTES before it is all in memory."""
    length = resp.content_length
    if length is not None:
        if length > MAX_BODY_BYTES:
            raise _too_large(resp, display)
        return await resp.read()
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large(resp, display)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(resp: aiohttp.ClientResponse, display: str) -> ResponseValidationError:
    return ResponseValidationError(
        [f"$: response body exceeds the {MAX_BODY_BYTES} byte cap; refused unread"],
        request_id=resp.headers.get("x-request-id"),
        method="GET",
        path=display,
    )


def _decode(answer: _Answer, display: str) -> Any:
    if not answer.body.strip():
        problem = "$: empty body, expected JSON"
    else:
        try:
            return json.loads(answer.body)
        except (ValueError, RecursionError) as exc:
            problem = f"$: invalid JSON ({type(exc).__name__}: {str(exc)[:80]})"
    raise ResponseValidationError(
        [problem], request_id=answer.request_id, method="GET", path=display
    )


def _status_error(answer: _Answer, display: str) -> APIStatusError:
    message, error_type, body = parse_error_body(answer.status, answer.body)
    return error_for_status(answer.status)(
        message,
        status_code=answer.status,
        error_type=error_type,
        request_id=answer.request_id,
        body=body,
        retry_after=answer.retry_after,
        method="GET",
        path=display,
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
    if logger.isEnabledFor(logging.DEBUG):
        elapsed = asyncio.get_running_loop().time() - started
        logger.debug("GET %s -> %s attempt=%d elapsed=%.3fs", display, outcome, retry + 1, elapsed)
