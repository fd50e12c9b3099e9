"""Every limit of `_constants` and `service/_constants` at limit - 1, limit and limit + 1,
through what a caller can observe: the answer, the error and its message, the status code.

The limits with their own module's tests are tested there at all three values:
`GONE_AFTER_ROUNDS` (test_watch), `MAX_REDIRECTS` (test_faults), `MAX_REMEMBERED` and
`MAX_FAILED_READS` (test_sharing, test_service_ionq_api: patched small, at three values),
`MAX_POINTS` (test_service_logic), the retry and backoff caps (test_retry), the stale
threshold (test_service_logic). `MAX_PENDING_WRITES` is tested by its overflow only
(test_service_store): holding a writer at exactly 256 queued rounds needs a stalled disk.
"""

from __future__ import annotations

import asyncio
import gzip
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from ionq_backends import IonQClient, ResponseValidationError
from ionq_backends._constants import (
    EMULATOR_MAX_HEADERS,
    EMULATOR_MAX_URL,
    ERROR_BODY_KEEP,
    MAX_BODY_BYTES,
    MAX_CONNECT_TIMEOUT,
    MAX_ERROR_BODY_DEPTH,
    MAX_PAGE_SIZE,
)
from ionq_backends._transport import client_timeout, decode_body
from ionq_backends._wire.response import parse_error_body
from ionq_backends.emulator import Emulator
from ionq_backends.service import create_app
from ionq_backends.service._constants import (
    MAX_EVENTS,
    MAX_HISTORY_SPAN,
    MAX_NAME_LENGTH,
    MIN_LIVE_INTERVAL,
    UNHEALTHY_FAILED_ROUNDS,
)
from ionq_backends.service._history import EventRow
from ionq_backends.service._state import FleetState
from ionq_backends.service._store import HistoryDB
from ionq_backends.service.cli import main as serve_main

from .conftest import serve
from .factories import NOW, backend, server_error, snapshot
from .service_support import running

AROUND = (-1, 0, 1)  # limit - 1, limit, limit + 1
SEED = (Path(__file__).parent / "captures" / "v04_backend_seed.json").read_bytes()


def padded(size: int) -> bytes:
    """A valid v0.4 backend body of exactly `size` bytes (JSON allows trailing blanks)."""
    return SEED + b" " * (size - len(SEED))


async def fetch(body: bytes, delivery: str) -> Any:
    """GET one backend whose answer is `body`, sent with a length, chunked or gzipped."""

    async def answer(request: web.Request) -> web.StreamResponse:
        if delivery == "length":
            return web.Response(body=body, content_type="application/json")
        if delivery == "gzip":
            return web.Response(body=gzip.compress(body, 1), content_type="application/json",
                                headers={"Content-Encoding": "gzip"})  # fmt: skip
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)  # no Content-Length: chunked
        for start in range(0, len(body), 1 << 20):
            await response.write(body[start : start + (1 << 20)])
        return response

    async with serve({"/v0.4/backends/{name}": answer}, handler_cancellation=True) as base:
        async with IonQClient(base_url=base, max_retries=0) as client:
            return await client.get_backend("qpu.aria-1")


@pytest.mark.parametrize("delivery", ["length", "chunked", "gzip"])
@pytest.mark.parametrize("over", AROUND)
async def test_a_body_of_max_body_bytes_is_read_and_one_byte_more_is_refused(
    delivery: str, over: int
) -> None:
    body = padded(MAX_BODY_BYTES + over)
    if over <= 0:
        assert (await fetch(body, delivery)).name == "qpu.aria-1"
    else:
        with pytest.raises(ResponseValidationError, match=f"exceeds the {MAX_BODY_BYTES} byte cap"):
            await fetch(body, delivery)


@pytest.mark.parametrize("over", AROUND)
def test_an_error_body_that_is_not_json_is_kept_to_error_body_keep_bytes(over: int) -> None:
    text = b"x" * (ERROR_BODY_KEEP + over)
    message, _, kept = parse_error_body(502, text)
    kept_text = kept if isinstance(kept, str) else message
    assert kept_text.count("x") == min(len(text), ERROR_BODY_KEEP)


def nested(depth: int) -> bytes:
    return ("[" * (depth - 1) + '{"message": "deep"}' + "]" * (depth - 1)).encode()


@pytest.mark.parametrize("over", AROUND)
def test_an_error_body_nested_past_max_depth_is_kept_as_text(over: int) -> None:
    body = nested(MAX_ERROR_BODY_DEPTH + over)
    _, _, kept = parse_error_body(502, body)
    assert isinstance(kept, str) == (over > 0)  # walked as JSON up to the limit, text past it


@pytest.mark.parametrize(("codings", "ok"), [(1, True), (2, True), (3, False)])
def test_stacked_content_codings_are_undone_up_to_two(codings: int, ok: bool) -> None:
    body = b'{"a": 1}'
    for _ in range(codings):
        body = gzip.compress(body)
    header = ", ".join(["gzip"] * codings)
    if ok:
        assert decode_body(body, header, None) == b'{"a": 1}'
    else:
        with pytest.raises(ResponseValidationError, match="3 content codings; at most 2"):
            decode_body(body, header, None)


@pytest.mark.parametrize("over", AROUND)
def test_connect_is_bounded_by_max_connect_timeout(over: int) -> None:
    timeout = client_timeout(MAX_CONNECT_TIMEOUT + over)
    assert timeout.total == timeout.sock_read == MAX_CONNECT_TIMEOUT + over
    assert timeout.connect == min(MAX_CONNECT_TIMEOUT, MAX_CONNECT_TIMEOUT + over)


@pytest.mark.parametrize("over", AROUND)
async def test_page_size_up_to_max_page_size(ionq_emulator: Emulator, over: int) -> None:
    size = MAX_PAGE_SIZE + over
    async with IonQClient(base_url=ionq_emulator.base_url) as client:
        if over > 0:
            with pytest.raises(ValueError, match=rf"page_size must be in \[1, {MAX_PAGE_SIZE}\]"):
                client.iter_characterizations("qpu.aria-1", page_size=size)
            return
        pages = client.iter_characterizations("qpu.aria-1", page_size=size)
        assert [c async for c in pages]
    asked = [r for r in ionq_emulator.requests if "characterizations" in r.path]
    assert asked and all(r.query["limit"] == str(size) for r in asked)


@pytest.mark.parametrize("over", AROUND)
async def test_the_emulator_answers_limit_up_to_max_page_size(
    ionq_emulator: Emulator, over: int
) -> None:
    url = f"{ionq_emulator.base_url}/v0.4/backends/qpu.aria-1/characterizations"
    async with aiohttp.ClientSession() as http:
        async with http.get(url, params={"limit": str(MAX_PAGE_SIZE + over)}) as response:
            assert response.status == (400 if over > 0 else 200)


async def raw_status(emulator: Emulator, request: bytes) -> int:
    """The status line's code for a request written byte for byte."""
    host, port = emulator.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        return int((await reader.readline()).split()[1])
    finally:
        writer.close()
        await writer.wait_closed()


@pytest.mark.parametrize("over", AROUND)
async def test_the_emulator_refuses_a_request_line_past_max_url_with_414(
    ionq_emulator: Emulator, over: int
) -> None:
    prefix = "/v0.4/backends/"
    path = prefix + "a" * (EMULATOR_MAX_URL + over - len(prefix))
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    assert await raw_status(ionq_emulator, request) == (414 if over > 0 else 404)


@pytest.mark.parametrize("over", AROUND)
async def test_the_emulator_refuses_more_header_fields_than_its_limit_with_431(
    ionq_emulator: Emulator, over: int
) -> None:
    _, fields = EMULATOR_MAX_HEADERS
    lines = ["Host: x", "Connection: close"]
    lines += [f"X-{i}: v" for i in range(fields + over - len(lines))]
    request = ("GET /v0.4/backends HTTP/1.1\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode()
    assert await raw_status(ionq_emulator, request) == (431 if over > 0 else 200)


@pytest.mark.parametrize("over", AROUND)
async def test_the_emulator_refuses_header_bytes_past_its_limit_with_431(
    ionq_emulator: Emulator, over: int
) -> None:
    size, _ = EMULATOR_MAX_HEADERS
    fixed = len("Host") + len("x") + len("Connection") + len("close") + len("X-Pad")
    lines = ["Host: x", "Connection: close", "X-Pad: " + "p" * (size + over - fixed)]
    request = ("GET /v0.4/backends HTTP/1.1\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode()
    assert await raw_status(ionq_emulator, request) == (431 if over > 0 else 200)


# The monitor's limits.


@pytest.mark.parametrize("over", AROUND)
def test_health_fails_after_unhealthy_failed_rounds_in_a_row(over: int) -> None:
    state = FleetState(["a"])
    for _ in range(UNHEALTHY_FAILED_ROUNDS + over):
        state.apply_round(snapshot(errors={"a": server_error()}), NOW, 0.1)
    health = state.health(NOW, failed_rounds=UNHEALTHY_FAILED_ROUNDS, stalled_after=60)
    assert (health.ok, health.status) == ((True, "ok") if over < 0 else (False, "failing"))


@pytest.mark.parametrize("over", AROUND)
def test_health_stalls_only_past_stalled_after(over: int) -> None:
    state = FleetState(["a"])
    state.apply_round(snapshot(backend("a")), NOW, 1.0)
    at = NOW + timedelta(seconds=1.0 + 60 + over / 1000)
    health = state.health(at, failed_rounds=UNHEALTHY_FAILED_ROUNDS, stalled_after=60)
    assert health.status == ("stalled" if over > 0 else "ok")


@pytest.fixture
async def monitor_url(ionq_emulator: Emulator, tmp_path: Path) -> Any:
    """serve on the emulator, with MAX_EVENTS + 1 events of qpu.aria-1 already in its history."""
    path = tmp_path / "history.sqlite3"
    db = HistoryDB(path)
    start = NOW.timestamp() - 3600
    db.record([], [EventRow(start + i, "qpu.aria-1", "change", "available", "[]", "{}")
                   for i in range(MAX_EVENTS + 1)])  # fmt: skip
    db.close()
    app = create_app(
        client_factory=lambda: IonQClient(base_url=ionq_emulator.base_url, max_retries=0),
        db_path=path, interval=60,
    )  # fmt: skip
    async with running(app) as url:
        yield url, start


async def history(url: str, **params: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http:
        async with http.get(url + "api/history", params=params) as response:
            return response.status, await response.json()


@pytest.mark.parametrize("over", AROUND)
async def test_history_names_a_backend_of_up_to_max_name_length(
    monitor_url: tuple[str, float], over: int
) -> None:
    url, _ = monitor_url
    status, body = await history(url, backend="b" * (MAX_NAME_LENGTH + over))
    assert status == (400 if over > 0 else 200)
    if over > 0:
        assert body["message"] == f"backend must be 1 to {MAX_NAME_LENGTH} characters"


@pytest.mark.parametrize("over", AROUND)
async def test_history_spans_up_to_max_history_span(
    monitor_url: tuple[str, float], over: int
) -> None:
    url, _ = monitor_url
    until = 2_000_000_000
    since = until - MAX_HISTORY_SPAN - over
    status, body = await history(url, since=f"{since:.0f}", until=f"{until}")
    assert status == (400 if over > 0 else 200), body
    if over > 0:
        assert body["message"] == f"at most {MAX_HISTORY_SPAN / 86400:g} days per query"


@pytest.mark.parametrize("over", AROUND)
async def test_history_returns_the_newest_max_events_events(
    monitor_url: tuple[str, float], over: int
) -> None:
    url, start = monitor_url
    count = MAX_EVENTS + over  # events in the asked window: the newest `count` of those stored
    since = start + (MAX_EVENTS + 1 - count)
    status, body = await history(
        url, backend="qpu.aria-1", since=f"{since}", until=f"{start + 3000}"
    )
    assert status == 200
    stamps = [e["ts"] for e in body["events"] if e["kind"] == "change"]
    kept = min(count, MAX_EVENTS)  # the newest, oldest first
    assert stamps == [start + MAX_EVENTS - i for i in reversed(range(kept))]


@pytest.mark.parametrize("over", AROUND)
def test_serve_warns_of_rate_limits_under_min_live_interval(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], over: int
) -> None:
    foreign = tmp_path / "not-history.sqlite3"
    foreign.write_bytes(b"not a database")  # serve stops at its history, after the warnings
    interval = MIN_LIVE_INTERVAL + over / 1000
    argv = ["--base-url", "http://127.0.0.1:9", "--db", str(foreign), "--port", "0",
            "--interval", f"{interval}"]  # fmt: skip
    assert serve_main(argv) == 1
    warned = f"an interval under {MIN_LIVE_INTERVAL:g} s may hit IonQ's rate limits"
    assert (warned in capsys.readouterr().err) == (over < 0)
