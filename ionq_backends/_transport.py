"""HTTP I/O for one client: the session, the concurrency bound, one attempt, the body cap.

`Transport.attempt(url)` sends one GET and returns what came back. Whether that answer is data,
an error, a redirect to follow or a reason to try again is the call loop's (`_call`) to decide.
"""

from __future__ import annotations

import asyncio
import copy
import math
import zlib
from collections.abc import Mapping
from time import monotonic
from typing import Any, NamedTuple

import aiohttp
from yarl import URL

from ._constants import MAX_BODY_BYTES, MAX_CONNECT_TIMEOUT, USER_AGENT
from ._errors import ResponseValidationError
from ._scrub import Scrubber
from ._signals import cancel_and_wait

__all__ = ["Attempt", "Secret", "Transport", "client_timeout", "decode_body"]


class Secret(str):
    """A header value that sends as itself but never shows in a repr."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'[REDACTED]'"


class Attempt(NamedTuple):
    """What one GET brought back: decoded body, before anyone judged it."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed: float


def client_timeout(timeout: float | aiohttp.ClientTimeout) -> aiohttp.ClientTimeout:
    """`T` seconds means total=T, connect=min(10, T), sock_read=T; a ClientTimeout passes as is.

    `total` bounds one attempt, never a whole call with its retries.
    """
    if isinstance(timeout, aiohttp.ClientTimeout):
        return timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise TypeError(f"timeout must be seconds or a ClientTimeout, got {type(timeout).__name__}")
    if not (timeout > 0 and math.isfinite(timeout)):
        raise ValueError(f"timeout must be a finite number of seconds > 0, got {timeout!r}")
    return aiohttp.ClientTimeout(
        total=timeout, connect=min(MAX_CONNECT_TIMEOUT, timeout), sock_read=timeout
    )


class Transport:
    """Sends GETs under `root` (`<base_url>/<version>/`) for one client, one attempt at a time."""

    def __init__(
        self,
        *,
        root: URL,
        api_key: str | None,
        timeout: aiohttp.ClientTimeout,
        max_concurrency: int,
        session: aiohttp.ClientSession | None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.root = root
        self._prefix = f"{root}/"  # `root` is a version under the base URL: no slash ends it
        self._path_prefix = f"{root.raw_path.rstrip('/')}/"
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._max_concurrency = max_concurrency
        self._borrowed = session
        self._session: aiohttp.ClientSession | None = session
        self._closed = False
        self._closing = asyncio.Event()  # set by close(): a retry's wait ends at once
        # Bodies are decoded here, under the cap, so only encodings we decode are asked for.
        self._common = {"User-Agent": USER_AGENT, **(headers or {}), "Accept-Encoding": ENCODINGS}
        # Built once: the only place the key lives, in a str whose repr hides it (a traceback
        # that captures frame locals, in aiohttp's frames too, prints reprs).
        self._auth = {"Authorization": Secret(f"apiKey {api_key}")} if api_key else {}
        self._headers: dict[str, str] = {**self._common, **self._auth}
        self.has_key = bool(api_key)
        self.scrubber = Scrubber(api_key)
        # A transport derived by `derive()` uses its parent's session and never closes it.
        self._parent: Transport | None = None
        self._set_timeout(timeout)

    def __repr__(self) -> str:
        return f"Transport(root={str(self.root)!r})"

    def _set_timeout(self, timeout: aiohttp.ClientTimeout) -> None:
        self._timeout = timeout
        # `total` bounds each attempt through `asyncio.timeout`, not aiohttp's timer: aiohttp's
        # own can swallow a caller's cancellation that lands in the same loop iteration.
        self._aiohttp_timeout = _per_attempt(timeout)
        # A session of our own carries the common headers and the timeout as its defaults, as
        # aiohttp intends; what differs from them goes with each request.
        own, derived = self._borrowed is None, self._parent is not None
        keyed: dict[str, Any] = {"allow_redirects": False, "auto_decompress": False}
        if not own or derived:
            keyed["timeout"] = self._aiohttp_timeout
        keyless = dict(keyed)
        if own:
            keyed |= {"headers": self._auth} if self._auth else {}
        else:
            keyed["headers"], keyless["headers"] = self._headers, self._common
        self._options = {False: keyed, True: keyless}

    def derive(self, *, timeout: aiohttp.ClientTimeout) -> Transport:
        """A transport with its own timeout on this one's session, pool and concurrency bound.
        Closing it leaves this one open."""
        child = copy.copy(self)
        child._parent = self
        child._session = None
        child._closing = asyncio.Event()
        child._set_timeout(timeout)
        return child

    @property
    def timeout(self) -> aiohttp.ClientTimeout:
        return self._timeout

    @property
    def closed(self) -> bool:
        return self._closed or (self._parent is not None and self._parent.closed)

    async def wait_closed(self) -> None:
        """Return once this transport, or the one it was derived from, is closed."""
        chain: list[Transport] = []
        transport: Transport | None = self
        while transport is not None:
            chain.append(transport)
            transport = transport._parent
        waits = [asyncio.ensure_future(t._closing.wait()) for t in chain]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await cancel_and_wait(*waits)

    def check_open(self) -> None:
        """Raise `RuntimeError` if the client (or the one it was derived from) was closed."""
        if self.closed:
            raise RuntimeError("this IonQClient is closed")

    def url(self, path: str, params: tuple[tuple[str, str], ...] = ()) -> URL:
        """The URL of `path` (its segments already quoted) below the version root."""
        url = URL(self._prefix + path, encoded=True)
        return url.with_query(params) if params else url

    def path(self, path: str) -> str:
        """The path errors and logs name for `path`: as sent, its segments still quoted."""
        return self._path_prefix + path

    def _get_session(self) -> aiohttp.ClientSession:
        if self._parent is not None:
            self.check_open()
            return self._parent._get_session()
        if self._session is None:  # close() clears it, so a closed client always lands here
            self.check_open()
            # The pool matches the semaphore: more connections could never be used at once.
            connector = aiohttp.TCPConnector(limit=self._max_concurrency)
            self._session = aiohttp.ClientSession(
                connector=connector, headers=self._common, timeout=self._aiohttp_timeout
            )
        return self._session

    async def close(self) -> None:
        """Close the session if it is ours; a borrowed one stays open. Idempotent."""
        self._closed = True
        self._closing.set()
        session, self._session = self._session, None
        if session is not None and session is not self._borrowed and self._parent is None:
            await session.close()

    async def attempt(self, url: URL, *, keyless: bool = False) -> Attempt:
        """One GET of `url`, bounded by the timeout's `total`; its body read under the cap and
        decoded. `keyless` sends it without the API key. Redirects are returned, not followed.

        Raises what aiohttp raises, `TimeoutError`, or `ResponseValidationError` for a body past
        the cap or in an encoding it cannot undo.
        """
        session = self._get_session()
        options = self._options[keyless]
        async with self._semaphore:
            started = monotonic()
            async with asyncio.timeout(self._timeout.total):
                async with session.get(url, **options) as resp:
                    status, answer = resp.status, resp.headers
                    try:
                        body = await _read_capped(resp)
                        if "Content-Encoding" in answer:  # repeated lines mean one list
                            coding = ", ".join(answer.getall("Content-Encoding"))
                            body = decode_body(body, coding, answer.get("x-request-id"))
                    except ResponseValidationError:
                        if 200 <= status < 300:
                            raise
                        # An error answer's body is only its message: its status still says
                        # what happened, and whether to try again.
                        body = b""
        return Attempt(status, answer, body, monotonic() - started)


def _per_attempt(timeout: aiohttp.ClientTimeout) -> aiohttp.ClientTimeout:
    """What aiohttp keeps of `timeout`: all but `total`, which `asyncio.timeout` keeps. A
    `sock_read` no shorter than the total is dropped: one timer, not two."""
    sock_read = timeout.sock_read
    if sock_read is not None and timeout.total is not None and sock_read >= timeout.total:
        sock_read = None
    return aiohttp.ClientTimeout(
        total=None,
        connect=timeout.connect,
        sock_read=sock_read,
        sock_connect=timeout.sock_connect,
        ceil_threshold=timeout.ceil_threshold,
    )


# Content codings we decode ourselves (aiohttp's own decoding is turned off): the cap must bound
# the decoded size, and a small gzip answer can inflate to gigabytes.
ENCODINGS = "gzip, deflate"
_WBITS = {"gzip": (16 + zlib.MAX_WBITS,), "x-gzip": (16 + zlib.MAX_WBITS,),
          "deflate": (zlib.MAX_WBITS, -zlib.MAX_WBITS)}  # fmt: skip
_MAX_CODINGS = 2


def decode_body(body: bytes, coding: str, request_id: str | None) -> bytes:
    """Undo `Content-Encoding`, refusing any answer that decodes past MAX_BODY_BYTES.

    zlib is asked for at most the cap plus one byte at each step, so a bomb costs no more memory
    than the cap, however small it was on the wire. Codings are undone last applied first.
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
    """`data` inflated whole: gzip member after member (RFC 1952), one deflate stream; a stream
    cut short, or bytes after it that are no member, make the body invalid, never shorter."""
    for wbits in _WBITS[name]:  # deflate comes zlib-wrapped or raw, whatever RFC 9110 says
        out, rest = b"", data
        try:
            while True:
                inflater = zlib.decompressobj(wbits)
                out += inflater.decompress(rest, MAX_BODY_BYTES + 1 - len(out))
                if len(out) > MAX_BODY_BYTES or inflater.unconsumed_tail:
                    raise _invalid(
                        f"response body exceeds the {MAX_BODY_BYTES} byte cap once decoded",
                        request_id,
                    )
                rest = inflater.unused_data
                if not inflater.eof or (rest and name == "deflate"):
                    break  # cut short, or more than one stream: not this framing
                if not rest:
                    return out
        except zlib.error:
            continue
    raise _invalid(f"body is not valid {name}", request_id)


def _invalid(problem: str, request_id: str | None) -> ResponseValidationError:
    return ResponseValidationError([("", problem)], request_id=request_id)


async def _read_capped(resp: aiohttp.ClientResponse) -> bytes:
    """The body, refused past MAX_BODY_BYTES: unread when its length says so, else as it grows."""
    length = resp.content_length
    if length is not None:
        if length > MAX_BODY_BYTES:
            raise _too_large(resp)
        return await resp.read()
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large(resp)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(resp: aiohttp.ClientResponse) -> ResponseValidationError:
    return _invalid(
        f"response body exceeds the {MAX_BODY_BYTES} byte cap; refused unread",
        resp.headers.get("x-request-id"),
    )
