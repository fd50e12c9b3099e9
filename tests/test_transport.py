"""`Transport.attempt`: one GET, bounded by one plain `asyncio.timeout`, against a real server.

The loop's clock is moved by hand (`ClockLoop.advance`), so that no test waits for real time: the
server hangs until the deadline the test moves the clock past.
"""

from __future__ import annotations

import asyncio
import gzip
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from ionq_backends import APIConnectionError, APIStatusError, IonQClient, ResponseValidationError
from ionq_backends._constants import MAX_BODY_BYTES
from ionq_backends._transport import Secret, Transport, _per_attempt, client_timeout, decode_body

from .conftest import ClockLoop, Hang, run_on_clock, serve

SECONDS = 10.0


@asynccontextmanager
async def hanging(
    total: float | None = SECONDS,
) -> AsyncIterator[tuple[Transport, URL, Hang]]:
    """A transport to a server whose `/hang` never answers and whose `/ok` does."""
    hang = Hang()

    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async with serve({"/v0.4/hang": hang.handle, "/v0.4/ok": ok}) as base:
        transport = Transport(
            root=URL(base) / "v0.4",
            api_key="k",
            timeout=client_timeout(total) if total else aiohttp.ClientTimeout(total=None),
            max_concurrency=64,
            session=None,
        )
        try:
            yield transport, transport.url("hang"), hang
        finally:
            await transport.close()


async def started(transport: Transport, url: URL, hang: Hang) -> asyncio.Task[Any]:
    hang.arrived.clear()
    task = asyncio.get_running_loop().create_task(transport.attempt(url))
    await hang.arrived.wait()
    return task


def test_an_attempt_past_its_deadline_raises_timeout_error() -> None:
    async def scenario(loop: ClockLoop) -> None:
        async with hanging() as (transport, url, hang):
            task = await started(transport, url, hang)
            await loop.advance(SECONDS * 0.9)
            assert not task.done()  # never early
            await loop.advance(SECONDS * 0.2)
            with pytest.raises(TimeoutError):
                await task
            assert task.cancelling() == 0  # the deadline's cancellation was taken back

    run_on_clock(scenario)


def test_an_attempt_done_in_time_is_untouched() -> None:
    async def scenario(loop: ClockLoop) -> str:
        async with hanging() as (transport, _url, _hang):
            attempt = await transport.attempt(transport.url("ok"))
            assert (attempt.status, attempt.body) == (200, b'{"ok": true}')
            await loop.advance(SECONDS * 2)  # its deadline passes after it ended
            task = asyncio.current_task()
            assert task is not None and task.cancelling() == 0
            await asyncio.sleep(0)  # a cancellation left behind would land at this await
        return "done"

    assert run_on_clock(scenario) == "done"


def test_every_attempt_of_many_expires_and_only_those_due() -> None:
    async def scenario(loop: ClockLoop) -> None:
        async with hanging() as (transport, url, hang):
            first = [await started(transport, url, hang) for _ in range(20)]
            await loop.advance(SECONDS / 2)
            second = [await started(transport, url, hang) for _ in range(20)]
            await loop.advance(SECONDS * 0.6)
            await asyncio.wait(first)
            assert all(isinstance(t.exception(), TimeoutError) for t in first)
            assert not any(t.done() for t in second)
            await loop.advance(SECONDS)
            await asyncio.wait(second)
            assert all(isinstance(t.exception(), TimeoutError) for t in second)

    run_on_clock(scenario)


@pytest.mark.parametrize("cancel_first", [True, False])
def test_a_callers_cancel_beside_the_deadline_stays_a_cancel(cancel_first: bool) -> None:
    async def scenario(loop: ClockLoop) -> None:
        async with hanging() as (transport, url, hang):
            task = await started(transport, url, hang)
            if cancel_first:
                task.cancel()
            loop.offset += SECONDS * 2  # due, with the caller's cancel in the same iteration
            if not cancel_first:
                loop.call_at(loop.time(), task.cancel)
            with pytest.raises(asyncio.CancelledError):
                await task

    run_on_clock(scenario)


def test_no_total_means_no_deadline() -> None:
    async def scenario(loop: ClockLoop) -> None:
        async with hanging(None) as (transport, url, hang):
            task = await started(transport, url, hang)
            await loop.advance(1e9)
            assert not task.done()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    run_on_clock(scenario)


def test_the_deadline_bounds_the_attempt_not_the_wait_for_a_slot() -> None:
    """With every slot taken, a queued attempt's deadline starts when it gets one."""

    async def scenario(loop: ClockLoop) -> None:
        async with hanging() as (transport, url, hang):
            transport._semaphore = asyncio.Semaphore(1)
            holder = await started(transport, url, hang)
            hang.arrived.clear()
            queued = loop.create_task(transport.attempt(url))
            await loop.advance(SECONDS * 1.1)
            with pytest.raises(TimeoutError):
                await holder
            await hang.arrived.wait()  # the queued one is in flight only now
            await loop.advance(SECONDS * 0.9)
            assert not queued.done()
            await loop.advance(SECONDS * 0.2)
            with pytest.raises(TimeoutError):
                await queued

    run_on_clock(scenario)


@pytest.mark.parametrize(
    ("value", "kind", "message"),
    [(0, ValueError, "timeout must be a finite number of seconds > 0, got 0"),
     (-1.5, ValueError, "timeout must be a finite number of seconds > 0, got -1.5"),
     (float("inf"), ValueError, "timeout must be a finite number of seconds > 0, got inf"),
     (float("nan"), ValueError, "timeout must be a finite number of seconds > 0, got nan"),
     (True, TypeError, "timeout must be seconds or a ClientTimeout, got bool"),
     ("5", TypeError, "timeout must be seconds or a ClientTimeout, got str")],
)  # fmt: skip
def test_a_timeout_that_is_not_positive_finite_seconds_is_refused_by_name(
    value: Any, kind: type[Exception], message: str
) -> None:
    with pytest.raises(kind) as raised:
        client_timeout(value)
    assert str(raised.value) == message


def test_seconds_bound_the_attempt_its_read_and_its_connect() -> None:
    timeout = client_timeout(5)
    assert (timeout.total, timeout.connect, timeout.sock_read) == (5, 5, 5)
    given = aiohttp.ClientTimeout(total=3, sock_connect=1)
    assert client_timeout(given) is given


async def test_a_body_past_the_cap_names_the_request_id_and_the_whole_body() -> None:
    async def huge(request: web.Request) -> web.Response:
        return web.Response(body=b" " * (MAX_BODY_BYTES + 1), headers={"X-Request-Id": "r-9"})

    async def bad_gzip(request: web.Request) -> web.Response:
        return web.Response(body=b"not gzip", headers={"X-Request-Id": "r-8",
                                                       "Content-Encoding": "gzip"})  # fmt: skip

    async with serve({"/v0.4/backends/huge": huge, "/v0.4/backends/gz": bad_gzip}) as base:
        async with IonQClient(base_url=base, max_retries=0) as client:
            for path, rid, problem in [
                ("huge", "r-9", f"response body exceeds the {MAX_BODY_BYTES} byte cap; "
                                "refused unread"),
                ("gz", "r-8", "body is not valid gzip"),
            ]:  # fmt: skip
                with pytest.raises(ResponseValidationError) as raised:
                    await client.get_backend(path)
                assert raised.value.request_id == rid
                assert raised.value.problems == (("", problem),)


@pytest.mark.parametrize(
    ("given", "sock_read"),
    [(aiohttp.ClientTimeout(total=5, sock_read=5), None),
     (aiohttp.ClientTimeout(total=5, sock_read=6), None),
     (aiohttp.ClientTimeout(total=5, sock_read=4.5), 4.5),
     (aiohttp.ClientTimeout(total=None, sock_read=3), 3)],
)  # fmt: skip
def test_aiohttp_keeps_all_but_the_total_and_a_read_bound_no_shorter_than_it(
    given: aiohttp.ClientTimeout, sock_read: float | None
) -> None:
    given = aiohttp.ClientTimeout(total=given.total, connect=2, sock_read=given.sock_read,
                                  sock_connect=1, ceil_threshold=7)  # fmt: skip
    kept = _per_attempt(given)
    assert (kept.total, kept.connect, kept.sock_read, kept.sock_connect, kept.ceil_threshold) == (
        None, 2, sock_read, 1, 7)  # fmt: skip


async def test_a_borrowed_session_sends_our_headers_and_timeout_with_each_request() -> None:
    seen: list[dict[str, str]] = []
    hang = Hang()

    async def ok(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response({"ok": True})

    async with serve({"/v0.4/ok": ok, "/v0.4/hang": hang.handle}) as base:
        async with aiohttp.ClientSession() as session:  # its own default: 5 minutes
            transport = Transport(root=URL(base) / "v0.4", api_key="k",
                                  timeout=client_timeout(0.3), max_concurrency=4,
                                  session=session)  # fmt: skip
            try:
                await transport.attempt(transport.url("ok"))
                await transport.attempt(transport.url("ok"), keyless=True)
                with pytest.raises(TimeoutError):
                    await transport.attempt(transport.url("hang"))
            finally:
                await transport.close()
            assert not session.closed  # borrowed: closing ours leaves it open
    keyed, keyless = seen
    assert keyed["Authorization"] == "apiKey k" and "Authorization" not in keyless
    assert keyed["User-Agent"].startswith("ionq-backends/") == keyless["User-Agent"].startswith(
        "ionq-backends/") is True  # fmt: skip


SESSION_KINDS = ["owned", "borrowed", "derived from owned", "derived from borrowed"]


@asynccontextmanager
async def transport_of(
    kind: str, base: str, api_key: str | None, bound: aiohttp.ClientTimeout
) -> AsyncIterator[Transport]:
    """A transport of `kind` with the timeout `bound`, a team header and `api_key`, closed after."""
    async with aiohttp.ClientSession() as borrowed:  # its own defaults: 5 minutes, no headers
        parent = Transport(root=URL(base) / "v0.4", api_key=api_key, max_concurrency=4,
                           timeout=bound if "derived" not in kind else client_timeout(60),
                           session=borrowed if "borrowed" in kind else None,
                           headers={"X-Team": "ops"})  # fmt: skip
        transport = parent.derive(timeout=bound) if "derived" in kind else parent
        try:
            yield transport
        finally:
            await transport.close()
            await parent.close()


@pytest.mark.parametrize("kind", SESSION_KINDS)
@pytest.mark.parametrize("api_key", ["k-123", None])
async def test_every_session_kind_sends_our_headers_and_the_key_only_where_asked(
    kind: str, api_key: str | None
) -> None:
    seen: list[dict[str, str]] = []

    async def ok(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response({"ok": True})

    async with serve({"/v0.4/ok": ok}) as base:
        async with transport_of(kind, base, api_key, client_timeout(30)) as transport:
            for keyless in (False, True):
                assert (await transport.attempt(transport.url("ok"), keyless=keyless)).status == 200
    for headers, keyless in zip(seen, (False, True), strict=True):
        assert headers["User-Agent"].startswith("ionq-backends/")
        assert headers["X-Team"] == "ops"
        assert headers["Accept-Encoding"] == "gzip, deflate"
        expected = None if keyless or api_key is None else f"apiKey {api_key}"
        assert headers.get("Authorization") == expected


@pytest.mark.parametrize("kind", SESSION_KINDS)
async def test_every_session_kind_returns_redirects_and_bodies_as_they_came(kind: str) -> None:
    async def moved(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/v0.4/ok"})

    async def zipped(request: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(b'{"ok": 1}'), headers={"Content-Encoding": "gzip"})

    async with serve({"/v0.4/moved": moved, "/v0.4/zipped": zipped}) as base:
        async with transport_of(kind, base, None, client_timeout(30)) as transport:
            redirect = await transport.attempt(transport.url("moved"))
            body = await transport.attempt(transport.url("zipped"))
    assert (redirect.status, redirect.headers["Location"]) == (302, "/v0.4/ok")
    assert body.body == b'{"ok": 1}'  # decoded here, under the cap: aiohttp's decoding is off


@pytest.mark.parametrize("kind", SESSION_KINDS)
async def test_every_session_kind_bounds_the_read_by_its_own_timeout(kind: str) -> None:
    hang = Hang()
    # A read bound shorter than the total: aiohttp's timer, not asyncio's, ends the wait, and
    # says so with its own error. A transport that dropped its timeout would wait 5 minutes.
    timeout = aiohttp.ClientTimeout(total=30, sock_read=0.05)
    async with serve({"/v0.4/hang": hang.handle}) as base:
        async with transport_of(kind, base, None, timeout) as transport:
            with pytest.raises(aiohttp.ServerTimeoutError):
                await transport.attempt(transport.url("hang"))
    assert hang.arrived.is_set()


def test_a_secret_and_a_transport_show_no_key_in_their_repr() -> None:
    assert repr(Secret("apiKey k-123")) == "'[REDACTED]'"
    transport = Transport(root=URL("http://127.0.0.1:1/v0.4"), api_key="k-123",
                          timeout=client_timeout(5), max_concurrency=1, session=None)  # fmt: skip
    assert repr(transport) == "Transport(root='http://127.0.0.1:1/v0.4')"
    assert transport.url("backends/a%20b") == URL("http://127.0.0.1:1/v0.4/backends/a%20b")


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


BODY = b'{"a": 1}'
GZIPPED = gzip.compress(BODY, mtime=0)  # no time in its header: the same bytes on every worker


@pytest.mark.parametrize(
    ("coding", "sent"),
    [
        ("identity", BODY),
        ("gzip, identity", GZIPPED),
        (" GZIP ", GZIPPED),
        ("x-gzip", GZIPPED),
        ("deflate", zlib.compress(BODY)),
        ("deflate", _raw_deflate(BODY)),  # as many servers send it, RFC 9110 or not
        ("gzip,", GZIPPED),
        ("gzip", gzip.compress(BODY[:5]) + gzip.compress(BODY[5:])),  # RFC 1952: members
    ],
    ids=[
        "identity",
        "gzip-identity",
        "any-case",
        "x-gzip",
        "deflate",
        "raw-deflate",
        "gzip-",
        "gzip-members",
    ],
)
def test_each_coding_is_undone(coding: str, sent: bytes) -> None:
    assert decode_body(sent, coding, "r-7") == BODY


@pytest.mark.parametrize(
    ("coding", "sent", "problem"),
    [
        ("br", BODY, "unsupported Content-Encoding 'br'"),
        ("z" * 30, BODY, f"unsupported Content-Encoding {'z' * 20!r}"),
        ("gzip, gzip, gzip", BODY, "3 content codings; at most 2"),
        ("gzip", BODY, "body is not valid gzip"),
        ("deflate", BODY, "body is not valid deflate"),
        ("gzip", GZIPPED[:-3], "body is not valid gzip"),  # cut short: never a shorter body
        ("gzip", GZIPPED + b"junk", "body is not valid gzip"),  # bytes after it, no member
        ("deflate", zlib.compress(BODY) + zlib.compress(BODY), "body is not valid deflate"),
    ],
)
def test_a_coding_that_cannot_be_undone_is_named_with_the_request_id(
    coding: str, sent: bytes, problem: str
) -> None:
    with pytest.raises(ResponseValidationError) as raised:
        decode_body(sent, coding, "r-7")
    assert (raised.value.problems, raised.value.request_id) == ((("", problem),), "r-7")


def test_a_gzip_bomb_costs_no_more_memory_than_the_cap() -> None:
    bomb = gzip.compress(b"\0" * (MAX_BODY_BYTES * 16))  # 64 MiB once inflated; 64 KiB sent
    tracemalloc.start()
    try:
        with pytest.raises(ResponseValidationError) as raised:
            decode_body(bomb, "gzip", "r-7")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert raised.value.request_id == "r-7"
    assert peak < 4 * MAX_BODY_BYTES  # inflated up to the cap (zlib grows its buffer), never whole


async def test_a_length_past_the_cap_is_refused_before_the_body_comes() -> None:
    finished = asyncio.Event()
    handled = asyncio.Event()

    async def headers_only(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n"
                     "X-Request-Id: r-big\r\n\r\n".encode())  # fmt: skip
        await writer.drain()
        await finished.wait()  # the body never comes
        writer.close()
        await writer.wait_closed()
        handled.set()

    server = await asyncio.start_server(headers_only, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = Transport(root=URL(f"http://127.0.0.1:{port}/v0.4"), api_key=None,
                          timeout=client_timeout(30), max_concurrency=1, session=None)  # fmt: skip
    try:
        async with asyncio.timeout(10):  # refused from the length alone, not after a read
            with pytest.raises(ResponseValidationError) as raised:
                await transport.attempt(transport.url("big"))
        assert raised.value.request_id == "r-big"
    finally:
        await transport.close()
        finished.set()
        await handled.wait()
        server.close()
        await server.wait_closed()


async def test_a_bound_past_aiohttps_default_pool_is_a_pool_that_large() -> None:
    count = 120  # aiohttp's default connector holds 100 connections
    all_in = asyncio.Barrier(count)

    async def ok(request: web.Request) -> web.Response:
        await all_in.wait()  # every request in flight at once, or none answers
        return web.json_response({})

    async with serve({"/v0.4/{name}": ok}) as base:
        transport = Transport(root=URL(base) / "v0.4", api_key=None, timeout=client_timeout(30),
                              max_concurrency=count, session=None)  # fmt: skip
        try:
            async with asyncio.timeout(10):
                done = await asyncio.gather(
                    *(transport.attempt(transport.url(f"b{i}")) for i in range(count))
                )
        finally:
            await transport.close()
    assert {attempt.status for attempt in done} == {200}
    assert all(0 <= attempt.elapsed < 10 for attempt in done)


async def test_a_closed_transport_says_so_by_name() -> None:
    transport = Transport(root=URL("http://127.0.0.1:1/v0.4"), api_key=None,
                          timeout=client_timeout(5), max_concurrency=1, session=None)  # fmt: skip
    await transport.close()
    with pytest.raises(RuntimeError) as raised:
        transport.check_open()
    assert str(raised.value) == "this IonQClient is closed"


async def test_content_codings_on_two_header_lines_are_all_undone() -> None:
    """RFC 9110: repeated header lines mean one comma-joined list."""

    async def twice(request: web.Request) -> web.Response:
        response = web.Response(body=gzip.compress(GZIPPED), content_type="application/json")
        response.headers.add("Content-Encoding", "gzip")
        response.headers.add("Content-Encoding", "gzip")
        return response

    async with serve({"/v0.4/backends/{name}": twice}) as base:
        transport = Transport(root=URL(base) / "v0.4", api_key=None, timeout=client_timeout(5),
                              max_concurrency=1, session=None)  # fmt: skip
        try:
            attempt = await transport.attempt(transport.url("backends/x"))
        finally:
            await transport.close()
    assert attempt.body == BODY


@pytest.mark.parametrize(
    "headers",
    [{"Content-Encoding": "br"}, {"Content-Encoding": "gzip"}],  # unknown; not gzip at all
)
async def test_an_error_answer_whose_body_cannot_be_read_keeps_its_status(
    headers: dict[str, str],
) -> None:
    """Its body is only its message: the status still says what happened, and whether to
    retry, never a validation error with no status."""

    asked = 0

    async def busy(request: web.Request) -> web.Response:
        nonlocal asked
        asked += 1
        return web.Response(status=503, body=b"\x00\x01", headers={**headers, "Retry-After": "0"})

    async with serve({"/v0.4/backends/{name}": busy}) as base:
        async with IonQClient(base_url=base, max_retries=2) as client:
            with pytest.raises(APIStatusError) as raised:
                await client.get_backend("qpu.aria-1")
    assert (raised.value.status_code, asked) == (503, 3)  # retried, as a 503 is


@pytest.mark.parametrize("closed", ["client", "parent"])  # itself, or the one it came from
async def test_closing_ends_a_request_waiting_to_retry_at_once(closed: str) -> None:
    """A Retry-After of 30 s: the request ends when the client closes, not when it wakes."""
    answered = asyncio.Event()

    async def slow_down(request: web.Request) -> web.Response:
        answered.set()
        body = {"error": "Too Many Requests", "message": "slow down", "statusCode": 429}
        return web.json_response(body, status=429, headers={"Retry-After": "30"})

    sleeping = asyncio.Event()

    async def sleep(delay: float) -> None:
        sleeping.set()
        await asyncio.sleep(delay)

    async with serve({"/v0.4/backends/{name}": slow_down}) as base:
        parent = IonQClient(base_url=base, sleep=sleep)
        client = parent.with_options(timeout=10) if closed == "parent" else parent
        call = asyncio.create_task(client.get_backend("qpu.aria-1"))
        await sleeping.wait()  # answered, and waiting out its Retry-After
        assert answered.is_set()
        await parent.close()
        async with asyncio.timeout(5):  # the retry would wait 30 s
            with pytest.raises(APIConnectionError, match=r"^the client was closed"):
                await call
