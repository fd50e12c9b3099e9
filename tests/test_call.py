"""The call loop's error boundary and its collectors: `as_ionq_error`, `collect`, `settle`,
and what it does with frames, cancels and its debug lines."""

from __future__ import annotations

import asyncio
import errno
import logging

import aiohttp
import pytest
from aiohttp import web
from aiohttp.client_reqrep import ConnectionKey
from yarl import URL

from ionq_backends import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    IonQClient,
    IonQError,
    ResponseValidationError,
)
from ionq_backends._call import (
    _cancelling,
    _forget_frames,
    _log,
    as_ionq_error,
    collect,
    redirect_target,
    settle,
)
from ionq_backends._constants import MAX_REDIRECTS
from ionq_backends._transport import Attempt
from ionq_backends._wire.hooks import Invalid as Unfit

from .conftest import Hang, serve


def test_a_parser_surprise_is_a_validation_error_only_while_parsing() -> None:
    exc = ValueError("bad")
    assert type(as_ionq_error(exc)) is IonQError
    parsed = as_ionq_error(exc, parsing=True)
    assert isinstance(parsed, ResponseValidationError)
    assert parsed.problems == (("", "unreadable body (ValueError: bad)"),)


def test_an_ionq_error_passes_as_itself() -> None:
    error = IonQError("x")
    assert as_ionq_error(error) is error


def test_collect_keeps_order_and_each_failure_its_own() -> None:
    boom = KeyError("boom")

    def call(key: str) -> int:
        if key == "b":
            raise boom
        return len(key)

    found, errors = collect(["aa", "b", "c", "aa"], call)
    assert list(found.items()) == [("aa", 2), ("c", 1)]
    assert list(errors) == ["b"] and errors["b"].__cause__ is boom


async def test_settle_runs_every_call_at_once_and_keeps_each_outcome() -> None:
    started: list[str] = []
    every = asyncio.Event()

    async def call(key: str) -> str:
        started.append(key)
        if len(started) == 3:
            every.set()
        await every.wait()  # only ends if all three run at once
        if key == "bad":
            raise RuntimeError("boom")
        return key.upper()

    found, errors = await settle(["a", "bad", "c"], call)
    assert found == {"a": "A", "c": "C"}
    assert errors["bad"].message == "unexpected RuntimeError: boom"
    assert isinstance(errors["bad"].__cause__, RuntimeError)


_KEY = ConnectionKey("127.0.0.1", 1, False, True, None, None, None)


@pytest.mark.parametrize(
    ("exc", "kind", "message"),
    [
        (aiohttp.ClientConnectorError(_KEY, ConnectionRefusedError(errno.ECONNREFUSED, "refused")),
         APIConnectionError, "connection refused to 127.0.0.1:1"),
        (aiohttp.ClientConnectorError(_KEY, OSError(errno.EHOSTUNREACH, "No route to host")),
         APIConnectionError, "cannot connect to 127.0.0.1:1: No route to host"),
        (aiohttp.ClientConnectorError(_KEY, OSError("odd")),
         APIConnectionError, "cannot connect to 127.0.0.1:1: odd"),
        (aiohttp.ClientConnectorError(_KEY, OSError()),
         APIConnectionError, "cannot connect to 127.0.0.1:1: OSError"),
        (aiohttp.ServerDisconnectedError(),
         APIConnectionError, "ServerDisconnectedError: Server disconnected"),
        (aiohttp.ServerTimeoutError("Timeout on reading data from socket"),
         APITimeoutError, "ServerTimeoutError: Timeout on reading data from socket"),
        (aiohttp.ClientPayloadError(), APIConnectionError, "ClientPayloadError"),
        (TimeoutError(), APITimeoutError, "timed out after 5s"),
        (KeyError("boom"), IonQError, "unexpected KeyError: 'boom'"),
    ],
)  # fmt: skip
def test_what_aiohttp_and_asyncio_raise_is_named_as_a_person_would(
    exc: Exception, kind: type[IonQError], message: str
) -> None:
    error = as_ionq_error(exc, timeout=5.0)
    assert (type(error), error.message, error.__cause__) == (kind, message, exc)


def test_a_timeout_with_no_total_says_only_that_it_timed_out() -> None:
    assert as_ionq_error(TimeoutError()).message == "timed out"


def test_a_parsers_problems_and_surprises_while_parsing() -> None:
    long = as_ionq_error(ValueError("x" * 100), parsing=True)
    assert isinstance(long, ResponseValidationError)
    assert long.problems == (("", f"unreadable body (ValueError: {'x' * 80})"),)
    unfit = as_ionq_error(Unfit([(".qubits", 'expected integer, got "many"')]), parsing=True)
    assert isinstance(unfit, ResponseValidationError)
    assert unfit.problems == ((".qubits", 'expected integer, got "many"'),)


def test_forgetting_frames_clears_every_error_chained_once_even_in_a_cycle() -> None:
    def raised(exc: BaseException) -> BaseException:
        try:
            raise exc
        except BaseException as caught:
            return caught

    first, cause, context = raised(ValueError(1)), raised(KeyError(2)), raised(OSError(3))
    first.__cause__, first.__context__ = cause, context
    context.__context__ = first  # a cycle
    cause.__cause__ = raised(RuntimeError(4))
    _forget_frames(first)
    chain = [first, cause, context, cause.__cause__]
    assert [e.__traceback__ for e in chain] == [None] * 4
    assert [type(e) for e in chain] == [ValueError, KeyError, OSError, RuntimeError]


async def test_a_cancel_in_progress_is_told_apart_from_none() -> None:
    started = asyncio.Event()

    async def probe() -> bool:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            return _cancelling()
        return False

    assert not _cancelling()
    task = asyncio.create_task(probe())
    await started.wait()
    task.cancel()
    assert await task is True


def test_each_attempt_is_one_debug_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="ionq_backends"):
        _log("/v0.4/backends/x", Attempt(200, {}, b"", 0.0123), 0)
        _log("/v0.4/backends/x", APITimeoutError("timed out"), 1)
    assert caplog.messages == [
        "GET /v0.4/backends/x -> 200 attempt=1 elapsed=0.012s",
        "GET /v0.4/backends/x -> APITimeoutError attempt=2",
    ]


async def test_a_body_that_does_not_fit_names_the_method_path_and_request_id() -> None:
    async def unfit(request: web.Request) -> web.Response:
        return web.json_response({"status": "available"}, headers={"X-Request-Id": "r-5"})

    async with serve({"/v0.4/backends/{name}": unfit}) as base:
        async with IonQClient(base_url=base, max_retries=0) as client:
            with pytest.raises(ResponseValidationError) as raised:
                await client.get_backend("qpu.x")
    error = raised.value
    assert (error.method, error.path, error.request_id) == ("GET", "/v0.4/backends/qpu.x", "r-5")
    assert error.problems == ((".backend", "required field missing"),)


async def test_a_timeout_names_the_attempts_bound_and_where() -> None:
    hang = Hang()
    async with serve({"/v0.4/backends/{name}": hang.handle}) as base:
        async with IonQClient(base_url=base, max_retries=0, timeout=0.05) as client:
            with pytest.raises(APITimeoutError) as raised:
                await client.get_backend("qpu.x")
    error = raised.value
    assert (error.message, error.method, error.path) == (
        "timed out after 0.05s", "GET", "/v0.4/backends/qpu.x")  # fmt: skip


async def test_a_list_asked_with_max_age_comes_from_memory_the_second_time() -> None:
    asked = 0

    async def listing(request: web.Request) -> web.Response:
        nonlocal asked
        asked += 1
        return web.json_response([{"backend": "qpu.a", "status": "available"}])

    async with serve({"/v0.4/backends": listing}) as base:
        async with IonQClient(base_url=base) as client:
            first = await client.list_backends(max_age=60)
            again = await client.list_backends(max_age=60)
    assert (asked, [b.name for b in again]) == (1, ["qpu.a"]) and first == again


ROOT = URL("http://127.0.0.1:8000/v0.4")
HERE = URL("http://127.0.0.1:8000/v0.4/backends/a")


@pytest.mark.parametrize(
    ("location", "hops", "refusal"),
    [
        (
            "http://evil.example/v0.4/x",
            0,
            "refused redirect to another origin (http://evil.example)",
        ),
        ("http://[::1/x", 0, "refused redirect to a malformed Location"),
        ("http://user@127.0.0.1:8000/x", 0, "refused redirect to a Location carrying credentials"),
        ("http://:pw@127.0.0.1:8000/x", 0, "refused redirect to a Location carrying credentials"),
        ("/v0.4/backends/b", MAX_REDIRECTS, f"more than {MAX_REDIRECTS} redirects"),
    ],
)
def test_a_redirect_that_may_not_be_followed_is_refused_by_its_reason(
    location: str, hops: int, refusal: str
) -> None:
    attempt = Attempt(307, {"Location": location}, b"", 0.0)
    with pytest.raises(APIStatusError) as raised:
        redirect_target(ROOT, HERE, location, hops, attempt)
    assert (raised.value.message, raised.value.status_code) == (refusal, 307)


def test_a_redirect_on_the_same_origin_is_followed_up_to_the_limit() -> None:
    attempt = Attempt(302, {}, b"", 0.0)
    target = redirect_target(ROOT, HERE, "b?x=1", MAX_REDIRECTS - 1, attempt)
    assert target == URL("http://127.0.0.1:8000/v0.4/backends/b?x=1")


async def test_each_retry_is_one_info_line_naming_the_path_the_wait_and_the_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answers = iter([503, 503, 200])

    async def flaky(request: web.Request) -> web.Response:
        status = next(answers)
        body = {"backend": "qpu.x", "status": "available"} if status == 200 else {}
        return web.json_response(body, status=status)

    async def no_wait(delay: float) -> None:
        pass

    async with serve({"/v0.4/backends/{name}": flaky}) as base:
        async with IonQClient(base_url=base, sleep=no_wait, random=lambda: 0.5) as client:
            with caplog.at_level(logging.INFO, logger="ionq_backends"):
                assert (await client.get_backend("qpu.x")).name == "qpu.x"
    retries = [m for m in caplog.messages if m.startswith("retrying ")]
    assert retries == [
        "retrying GET /v0.4/backends/qpu.x in 0.50s (retry 1 of 2)",
        "retrying GET /v0.4/backends/qpu.x in 1.00s (retry 2 of 2)",
    ]


async def test_a_client_closed_while_a_call_waits_to_retry_ends_it_by_name() -> None:
    async def down(request: web.Request) -> web.Response:
        return web.json_response({}, status=503)

    async with serve({"/v0.4/backends/{name}": down}) as base:
        made: list[IonQClient] = []

        async def close_instead(delay: float) -> None:
            await made[0].close()  # the caller's service shuts down between two attempts

        client = IonQClient(base_url=base, sleep=close_instead, random=lambda: 0.5)
        made.append(client)
        with pytest.raises(APIConnectionError) as raised:
            await client.get_backend("qpu.x")
        await client.close()
    assert (raised.value.message, raised.value.path) == (
        "the client was closed", "/v0.4/backends/qpu.x")  # fmt: skip
