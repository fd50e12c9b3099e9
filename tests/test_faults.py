"""The fault matrix: IonQ's bad days, against a real loopback server (emulator or bespoke).

Sleeps between retries are injected (`fake_sleep`), so the matrix runs in well under a second a row.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from ionq_backends import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BackendName,
    BadRequestError,
    IonQClient,
    IonQError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
)
from ionq_backends._constants import MAX_REDIRECTS
from ionq_backends.emulator import Emulator

from .conftest import SECRET, serve
from .service_support import running

PATH = "/v0.4/backends/qpu.aria-1"
Sleep = Callable[[float], Awaitable[None]]


@pytest.fixture
async def client(ionq_emulator: Emulator, fake_sleep: Sleep) -> AsyncIterator[IonQClient]:
    async with IonQClient(SECRET, base_url=ionq_emulator.base_url, sleep=fake_sleep,
                          random=lambda: 0.5) as c:  # fmt: skip
        yield c


def attempts(emulator: Emulator, path: str = PATH) -> int:
    return sum(1 for r in emulator.requests if r.path == path)


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 520, 522, 524, 529])
async def test_retryable_status_then_success(
    ionq_emulator: Emulator, client: IonQClient, sleeps: list[float], status: int
) -> None:
    ionq_emulator.inject(PATH, status=status, times=2)
    backend = await client.get_backend("qpu.aria-1")
    assert backend.name == "qpu.aria-1"
    assert attempts(ionq_emulator) == 3
    assert sleeps == [0.5, 1.0]


async def test_persistent_503_raises_server_error_after_max_retries(
    ionq_emulator: Emulator, client: IonQClient, sleeps: list[float]
) -> None:
    ionq_emulator.inject(PATH, status=503, times=10)
    with pytest.raises(ServerError) as info:
        await client.get_backend("qpu.aria-1")
    assert info.value.status_code == 503
    assert info.value.request_id and info.value.request_id.startswith("emu-")
    assert attempts(ionq_emulator) == 3
    assert len(sleeps) == 2


async def test_proxy_html_error_page(ionq_emulator: Emulator, client: IonQClient) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body><hr>nginx</body></html>"
    ionq_emulator.inject(PATH, status=502, times=3, body=page)
    with pytest.raises(ServerError) as info:
        await client.get_backend("qpu.aria-1")
    assert info.value.message == "502 Bad Gateway"
    assert info.value.body == page


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, BadRequestError), (401, AuthenticationError), (403, PermissionDeniedError),
     (404, NotFoundError), (410, APIStatusError), (501, ServerError)],
)  # fmt: skip
async def test_non_retryable_status_raises_at_once(
    ionq_emulator: Emulator, client: IonQClient, sleeps: list[float], status: int, cls: type
) -> None:
    # A 401 on a public endpoint is asked once more without the key, not retried.
    times = 2 if status == 401 else 1
    ionq_emulator.inject(PATH, status=status, times=times)
    with pytest.raises(cls):
        await client.get_backend("qpu.aria-1")
    assert attempts(ionq_emulator) == times
    assert sleeps == []


@pytest.mark.parametrize(
    ("header", "slept"),
    [("2", 2.0), ("0", 0.0), ("60", 60.0), ("-5", 0.5), ("soon", 0.5), ("", 0.5)],
)
async def test_retry_after_seconds(
    ionq_emulator: Emulator, client: IonQClient, sleeps: list[float], header: str, slept: float
) -> None:
    ionq_emulator.inject(PATH, status=429, retry_after=header)
    await client.get_backend("qpu.aria-1")
    assert sleeps == [slept]


async def test_retry_after_http_date(
    ionq_emulator: Emulator, client: IonQClient, sleeps: list[float]
) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    ionq_emulator.inject(PATH, status=503, retry_after=when)
    await client.get_backend("qpu.aria-1")
    assert 25.0 < sleeps[0] <= 30.0


async def test_retry_after_past_the_cap_raises_at_once(
    ionq_emulator: Emulator, client: IonQClient, sleeps: list[float]
) -> None:
    ionq_emulator.inject(PATH, status=429, retry_after=61)
    with pytest.raises(RateLimitError) as info:
        await client.get_backend("qpu.aria-1")
    assert info.value.retry_after == 61.0
    assert sleeps == []
    assert attempts(ionq_emulator) == 1


@pytest.mark.parametrize(
    ("cap", "header", "slept"),
    [(5.0, "10", None), (5.0, "5", 5.0), (120.0, "90", 90.0), (0.0, "1", None), (0.0, "0", 0.0)],
)
async def test_the_client_holds_its_own_retry_after_cap(
    ionq_emulator: Emulator,
    fake_sleep: Sleep,
    sleeps: list[float],
    cap: float,
    header: str,
    slept: float | None,
) -> None:
    """`retry_after_cap` is the client's, not the default 60 s: below it a 429 is waited out,
    past it the `RateLimitError` is raised at once, on both sides of 60 s."""
    ionq_emulator.inject(PATH, status=429, retry_after=header)
    async with IonQClient(base_url=ionq_emulator.base_url, sleep=fake_sleep,
                          retry_after_cap=cap) as client:  # fmt: skip
        if slept is None:
            with pytest.raises(RateLimitError) as info:
                await client.get_backend("qpu.aria-1")
            assert info.value.retry_after == float(header)
            assert sleeps == []
            assert attempts(ionq_emulator) == 1
        else:
            assert (await client.get_backend("qpu.aria-1")).name == "qpu.aria-1"
            assert sleeps == [slept]
            assert attempts(ionq_emulator) == 2


async def test_timeout_total_becomes_api_timeout_error(ionq_emulator: Emulator) -> None:
    ionq_emulator.inject(PATH, status=200, delay=30)
    async with IonQClient(base_url=ionq_emulator.base_url, timeout=0.2, max_retries=0) as client:
        with pytest.raises(APITimeoutError) as info:
            await client.get_backend("qpu.aria-1")
    assert isinstance(info.value, APIConnectionError)
    assert str(info.value) == "timed out after 0.2s (GET /v0.4/backends/qpu.aria-1)"


async def test_sock_read_timeout_becomes_api_timeout_error(
    ionq_emulator: Emulator, fake_sleep: Sleep, sleeps: list[float]
) -> None:
    ionq_emulator.inject(PATH, status=200, delay=30, times=2)
    timeout = aiohttp.ClientTimeout(total=10, sock_read=0.2)
    async with IonQClient(base_url=ionq_emulator.base_url, timeout=timeout, max_retries=1,
                          sleep=fake_sleep) as client:  # fmt: skip
        with pytest.raises(APITimeoutError) as info:
            await client.get_backend("qpu.aria-1")
    assert len(sleeps) == 1  # a timeout is retried
    assert "socket" in info.value.message.lower()  # says it was sock_read, not total


async def test_connection_refused(fake_sleep: Sleep, sleeps: list[float]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with IonQClient(base_url=f"http://127.0.0.1:{port}", sleep=fake_sleep) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.get_backend("qpu.aria-1")
    assert not isinstance(info.value, APITimeoutError)
    assert len(sleeps) == 2


async def test_connection_dropped_mid_answer(
    ionq_emulator: Emulator, client: IonQClient, sleeps: list[float]
) -> None:
    ionq_emulator.inject(PATH, disconnect=True, times=3)
    with pytest.raises(APIConnectionError):
        await client.get_backend("qpu.aria-1")
    assert attempts(ionq_emulator) == 3
    ionq_emulator.inject(PATH, disconnect=True)
    assert (await client.get_backend("qpu.aria-1")).name == "qpu.aria-1"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("{not json", "$: invalid JSON"),
        (b"", "$: empty body"),
        ("null", "$: expected backend object, got null"),
        ("[1, 2]", "$: expected backend object, got [1, 2]"),
        ({"backend": "qpu.aria-1"}, "$.status: required field missing"),
        ("<html><body>maintenance</body></html>", "$: invalid JSON"),
    ],
)
async def test_bad_200_answers(
    ionq_emulator: Emulator, client: IonQClient, body: Any, problem: str
) -> None:
    ionq_emulator.inject(PATH, status=200, body=body)
    with pytest.raises(ResponseValidationError) as info:
        await client.get_backend("qpu.aria-1")
    assert info.value.errors[0].startswith(problem)
    assert info.value.request_id
    assert attempts(ionq_emulator) == 1  # a bad 2xx body is not retried


async def test_body_over_cap_with_content_length(
    ionq_emulator: Emulator, client: IonQClient
) -> None:
    ionq_emulator.inject(PATH, status=200, body=b"[" + b" " * (4 * 1024 * 1024) + b"]")
    with pytest.raises(ResponseValidationError, match="exceeds the 4194304 byte cap"):
        await client.get_backend("qpu.aria-1")


async def test_body_over_cap_chunked_is_refused_while_reading() -> None:
    sent = 0

    async def endless(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse()  # no Content-Length: chunked
        await response.prepare(request)
        chunk = b" " * 65536
        for _ in range(200):  # 12.5 MiB offered; the client must stop reading at 4 MiB
            await response.write(chunk)
            sent += len(chunk)
        return response

    async with serve({"/v0.4/backends/{name}": endless}, handler_cancellation=True) as base:
        async with IonQClient(base_url=base) as client:
            with pytest.raises(ResponseValidationError, match="byte cap"):
                await client.get_backend("x")
    assert sent < 12 * 1024 * 1024


async def test_same_origin_redirect_is_followed() -> None:
    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/v0.4/backends/new")

    async def new(request: web.Request) -> web.Response:
        assert request.headers["Authorization"] == f"apiKey {SECRET}"
        return web.json_response({"backend": "new", "status": "available"})

    async with serve({"/v0.4/backends/old": moved, "/v0.4/backends/new": new}) as base:
        async with IonQClient(SECRET, base_url=base) as client:
            assert (await client.get_backend("old")).name == "new"


async def test_cross_origin_redirect_is_refused_and_the_key_never_sent() -> None:
    seen: list[str] = []

    async def elsewhere(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.json_response({"backend": "x", "status": "available"})

    async with serve({"/steal": elsewhere}) as evil:

        async def moved(request: web.Request) -> web.Response:
            raise web.HTTPFound(f"{evil}/steal")

        async with serve({"/v0.4/backends/{name}": moved}) as base:
            async with IonQClient(SECRET, base_url=base) as client:
                with pytest.raises(APIStatusError, match="another origin") as info:
                    await client.get_backend("x")
    assert info.value.status_code == 302
    assert seen == []


@pytest.mark.parametrize("hops", range(MAX_REDIRECTS + 3))
async def test_exactly_max_redirects_are_followed(hops: int) -> None:
    """A chain of `hops` redirects: up to MAX_REDIRECTS (3) are followed, the next is refused.

    The server counts the requests it sees: a chain it may follow costs hops + 1 of them; a
    longer one costs exactly MAX_REDIRECTS + 1, never one more.
    """
    seen: list[str] = []

    async def hop(request: web.Request) -> web.Response:
        seen.append(request.path)
        step = int(request.match_info["step"])
        if step < hops:
            raise web.HTTPFound(f"/v0.4/backends/{step + 1}")
        return web.json_response({"backend": f"{step}", "status": "available"})

    async with serve({"/v0.4/backends/{step}": hop}) as base:
        async with IonQClient(base_url=base, max_retries=2) as client:
            if hops <= MAX_REDIRECTS:
                assert (await client.get_backend("0")).name == f"{hops}"
            else:
                with pytest.raises(APIStatusError, match=f"more than {MAX_REDIRECTS} redirects"):
                    await client.get_backend("0")
    followed = min(hops, MAX_REDIRECTS)
    assert seen == [f"/v0.4/backends/{i}" for i in range(followed + 1)]  # and never retried


async def test_redirect_loop_ends_after_max_redirects() -> None:
    seen = 0

    async def loop(request: web.Request) -> web.Response:
        nonlocal seen
        seen += 1
        raise web.HTTPFound(request.path)

    async with serve({"/v0.4/backends/{name}": loop}) as base:
        async with IonQClient(base_url=base) as client:
            with pytest.raises(APIStatusError, match="more than 3 redirects") as info:
                await client.get_backend("x")
    assert info.value.status_code == 302
    assert seen == MAX_REDIRECTS + 1 == 4


async def test_100_concurrent_fan_outs_with_10_percent_503(fake_sleep: Sleep) -> None:
    count = 0

    async def flaky(request: web.Request) -> web.Response:
        nonlocal count
        count += 1
        if count % 10 == 0:
            return web.json_response({"error": "Service Unavailable", "message": "busy",
                                      "statusCode": 503}, status=503)  # fmt: skip
        return web.json_response({"backend": request.match_info["name"], "status": "available"})

    # 100 clients on one pool: one client's identical GETs in flight would share one request.
    async with serve({"/v0.4/backends/{name}": flaky}) as base:
        connector = aiohttp.TCPConnector(limit=32)
        async with aiohttp.ClientSession(connector=connector) as session:
            clients = [IonQClient(base_url=base, session=session, sleep=fake_sleep)
                       for _ in range(100)]  # fmt: skip
            async with asyncio.timeout(60):
                snapshots = await asyncio.gather(*(c.get_backends() for c in clients))
    for snapshot in snapshots:  # every name answered once, as a backend or as its error
        assert sorted([*snapshot, *snapshot.errors]) == sorted(BackendName)
        assert all(backend.name == name for name, backend in snapshot.items())
        for error in snapshot.errors.values():  # only 503s ever fail, after every retry did
            assert isinstance(error, ServerError) and error.status_code == 503
    backends = sum(len(s) for s in snapshots)
    failed = sum(len(s.errors) for s in snapshots)
    assert backends + failed == 600
    assert backends >= 594  # retries absorb nearly all
    assert count - count // 10 == backends  # each answer but the 503s is one backend's success


async def test_log_lines_carry_method_path_status_attempt_elapsed_and_never_the_key(
    ionq_emulator: Emulator, client: IonQClient, caplog: pytest.LogCaptureFixture
) -> None:
    ionq_emulator.inject(PATH, status=503)
    with caplog.at_level(logging.DEBUG, logger="ionq_backends"):
        await client.get_backend("qpu.aria-1")
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("GET /v0.4/backends/qpu.aria-1 -> 503 attempt=1 elapsed=")
               for line in lines)  # fmt: skip
    assert any("-> 200 attempt=2" in line for line in lines)
    assert all(SECRET not in line for line in lines)


@pytest.mark.parametrize(
    "message",
    [
        "apiKey {}",
        "sent apiKey {} to the proxy",
        "headers={{'x-api': 'apiKey {}'}}",
        '{{"auth": "APIKEY {}"}}',
        "apikey\t{}",
    ],
)
def test_redacting_filter_scrubs_a_bare_api_key_token(
    caplog: pytest.LogCaptureFixture, message: str
) -> None:
    """No `Authorization` anywhere in the line: only the `apiKey <token>` pattern can catch it."""
    text = message.format(SECRET)
    assert "authorization" not in text.lower()
    with caplog.at_level(logging.DEBUG, logger="ionq_backends"):
        logging.getLogger("ionq_backends").warning(text)
    (record,) = caplog.records
    assert SECRET not in record.getMessage()
    # (a tab is escaped too, as every control character in a log line is)
    assert record.getMessage() == text.replace(SECRET, "[REDACTED]").replace("\t", "\\x09")


def test_redacting_filter_scrubs_authorization(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("ionq_backends")
    with caplog.at_level(logging.DEBUG, logger="ionq_backends"):
        log.warning("headers=%s", {"Authorization": f"apiKey {SECRET}"})
        log.warning("sending Authorization: apiKey %s", SECRET)
    assert len(caplog.records) == 2
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert "[REDACTED]" in record.getMessage()


@pytest.mark.parametrize("logger_name", ["ionq_backends", "ionq_backends.service"])
def test_no_text_from_a_server_forges_a_log_line(
    caplog: pytest.LogCaptureFixture, logger_name: str
) -> None:
    """Every logger of the package escapes what it is given: a newline, ESC, a lone surrogate."""
    from ionq_backends._logging import package_logger

    log = package_logger(logger_name)
    with caplog.at_level(logging.DEBUG, logger="ionq_backends"):
        log.warning("%s: %s", "qpu.x\n2026-12-02 ERROR forged", "\x1b[2J\ud800")
    (record,) = caplog.records
    assert record.getMessage() == "qpu.x\\x0a2026-12-02 ERROR forged: \\x1b[2J\\ud800"
    assert package_logger(logger_name).filters == log.filters  # one filter, however often asked


async def test_errors_never_carry_the_key(fake_sleep: Sleep) -> None:
    async with Emulator(api_key="the-right-key") as guarded:
        async with IonQClient(SECRET, base_url=guarded.base_url, sleep=fake_sleep) as client:
            snapshot = await client.get_backends()
    assert len(snapshot.errors) == 6
    for error in snapshot.errors.values():
        assert isinstance(error, AuthenticationError)
        for text in (str(error), repr(error), repr(vars(error))):
            assert SECRET not in text
    sent = [r.headers.get("Authorization") for r in guarded.requests]
    assert "[REDACTED]" in sent
    assert set(sent) <= {"[REDACTED]", None}  # None: the once-more-without-the-key


# The key in no frame's locals of a raised error: Sentry, for one, captures them by default


def _holders(exc: BaseException, secret: str) -> list[str]:
    """Where `secret` shows in the locals of any frame of `exc` or of the errors chained to it,
    as an error reporter reads them: strings (a `str` subclass by its value), containers walked,
    anything else by its repr."""
    found: list[str] = []
    seen: set[int] = set()

    def holds(value: Any, depth: int = 0) -> bool:
        if id(value) in seen or depth > 6:
            return False
        seen.add(id(value))
        if isinstance(value, str | bytes):
            return secret in (value if isinstance(value, str) else value.decode("latin-1"))
        if isinstance(value, dict):
            return any(holds(k, depth + 1) or holds(v, depth + 1) for k, v in value.items())
        if isinstance(value, list | tuple | set | frozenset):
            return any(holds(v, depth + 1) for v in value)
        if hasattr(value, "items") and callable(value.items):  # a multidict of headers
            try:
                return any(holds(k) or holds(v) for k, v in value.items())
            except Exception:
                return False
        try:
            return secret in repr(value)
        except Exception:
            return False

    chained: list[BaseException] = []
    stack = [exc]
    while stack:
        error = stack.pop()
        if any(error is e for e in chained):
            continue
        chained.append(error)
        stack += [e for e in (error.__cause__, error.__context__) if e is not None]
        stack += list(getattr(error, "exceptions", ()))
    for error in chained:
        tb = error.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            for name, value in frame.f_locals.items():
                seen.clear()
                if holds(value):
                    found.append(f"{frame.f_code.co_qualname}: {name}")
            tb = tb.tb_next
    return found


async def test_a_key_the_server_echoes_is_in_no_frame_nor_any_chained_message() -> None:
    """A server may echo the key: into an error body, a refused `Location`, or a malformed
    header aiohttp quotes in its own message. None of it stays in the call loop's frames or in
    an error chained to the one raised, as a traceback prints them all."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        path = head.split(" ", 2)[1]
        if path.endswith("aria-1"):  # the key in an error body
            body = json.dumps({"message": f"key {SECRET} forbidden"}).encode()
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))  # fmt: skip
        elif path.endswith("aria-2"):  # the key in a Location to another origin
            writer.write(b"HTTP/1.1 302 Found\r\nLocation: http://evil.example/?k=%s\r\n"
                         b"Content-Length: 0\r\n\r\n" % SECRET.encode())  # fmt: skip
        else:  # the key in a header line aiohttp cannot parse, and quotes
            writer.write(b"HTTP/1.1 200 OK\r\nX Echo%s: 1\r\nContent-Length: 2\r\n\r\n{}"
                         % SECRET.encode())  # fmt: skip
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        async with IonQClient(SECRET, base_url=base, max_retries=0) as client:
            for name in ("qpu.aria-1", "qpu.aria-2", "qpu.forte-1"):
                with pytest.raises(IonQError) as caught:
                    await client.get_backend(name)
                printed = "".join(traceback.format_exception(caught.value))
                assert SECRET not in printed, name
                assert _holders(caught.value, SECRET) == [], name
    finally:
        server.close()
        await server.wait_closed()


async def test_the_key_is_in_no_frame_of_a_raised_error(ionq_emulator: Emulator) -> None:
    refused = socket.socket()
    refused.bind(("127.0.0.1", 0))
    port = refused.getsockname()[1]
    refused.close()  # nothing listens there: a connection error
    base = ionq_emulator.base_url
    ionq_emulator.inject("/v0.4/backends/qpu.aria-1", status=200, body=b"{garbage")

    async def elsewhere(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://elsewhere.example/x")

    redirecting = web.Application()
    redirecting.router.add_get("/v0.4/backends/{name}", elsewhere)
    async with running(redirecting) as redirector:
        cases = [
            (f"http://127.0.0.1:{port}", "qpu.aria-1"),  # refused, from aiohttp's depths
            (base, "qpu.aria-1"),  # a 200 that is not JSON
            (redirector.rstrip("/"), "qpu.aria-2"),  # a redirect to another origin, refused
        ]
        for url, name in cases:
            async with IonQClient(SECRET, base_url=url, max_retries=0) as client:
                with pytest.raises(IonQError) as caught:
                    await client.get_backend(name)
            assert _holders(caught.value, SECRET) == [], (url, name)
    with pytest.raises(ValueError, match="max_concurrency") as refused_args:
        IonQClient(SECRET, max_concurrency=0)  # a bad argument after the key was read
    assert _holders(refused_args.value, SECRET) == []
