"""One targeted test per class of the hostile-input attack: each closes a class.

The chaos suite (tests/test_chaos.py) then throws random hostile answers at every public call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import pickle
import socket
import subprocess
import sys
import textwrap
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web

from ionq_backends import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    Backend,
    BackendChange,
    IonQClient,
    IonQError,
    ResponseValidationError,
    ServerError,
)
from ionq_backends._cli.format import backend_rows, describe_change, printable, table
from ionq_backends._retry import parse_retry_after
from ionq_backends._watch import Watcher
from ionq_backends.emulator import Emulator

from .conftest import SECRET, Hang, serve
from .factories import run_cli

Sleep = Callable[[float], Awaitable[None]]
GOOD = {"backend": "qpu.good", "status": "available", "qubits": 25}


def _backend_route(body: bytes | str, **headers: str) -> dict[str, Any]:
    raw = body.encode() if isinstance(body, str) else body

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=raw, headers=headers, content_type="application/json")

    return {"/v0.4/backends/{name}": handler, "/v0.3/backends": handler}


# 1. Decompression bombs: the cap bounds decoded bytes, measured as the child's peak RSS.

BOMB_MIB = 256


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    out = {}
    for name, wbits in (("gzip", 16 + zlib.MAX_WBITS), ("deflate", zlib.MAX_WBITS)):
        packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
        zeros = bytes(1024 * 1024)
        parts = [packer.compress(zeros) for _ in range(BOMB_MIB)]
        out[name] = b"".join(parts) + packer.flush()
    return out


CHILD = textwrap.dedent(
    """
    import asyncio, json, resource, sys
    from ionq_backends import IonQClient, IonQError

    async def main(base, names):
        async with IonQClient(base_url=base, max_retries=0) as client:
            await client.get_backend("warm")  # imports and a first request, before the baseline
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            snapshot = await client.get_backends(names)
            after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        errors = {n: str(e) for n, e in snapshot.errors.items()}
        print(json.dumps({"grew_kib": after - before, "errors": errors}))

    asyncio.run(main(sys.argv[1], sys.argv[2:]))
    """
)


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
async def test_a_decompression_bomb_is_refused_without_inflating(
    bombs: dict[str, bytes], coding: str
) -> None:
    bomb = bombs[coding]
    assert len(bomb) < 2 * 1024 * 1024  # announced length well under the 4 MiB cap

    async def handler(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name == "warm":
            return web.json_response({"backend": "warm", "status": "available"})
        return web.Response(body=bomb, headers={"Content-Encoding": coding},
                            content_type="application/json")  # fmt: skip

    async with serve({"/v0.4/backends/{name}": handler}) as base:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CHILD, base, "a", "b", "c", stdout=subprocess.PIPE
        )
        try:
            out, _ = await asyncio.wait_for(child.communicate(), timeout=60)
        finally:
            if child.returncode is None:  # timed out: no child outlives its test
                child.kill()
                await child.wait()
    result = json.loads(out)
    assert sorted(result["errors"]) == ["a", "b", "c"]
    assert all("exceeds the 4194304 byte cap once decoded" in e for e in result["errors"].values())
    # Three 256 MiB bombs at once: peak RSS may grow by a few caps, never by the bombs.
    assert result["grew_kib"] < 48 * 1024, result


async def test_an_encoding_we_did_not_ask_for_is_a_validation_error() -> None:
    async with serve(_backend_route(b"\x00\x01", **{"Content-Encoding": "br"})) as base:
        async with IonQClient(base_url=base) as client:
            with pytest.raises(ResponseValidationError, match="unsupported Content-Encoding 'br'"):
                await client.get_backend("x")


async def test_a_small_gzip_answer_is_decoded() -> None:
    body = zlib.compress(json.dumps(GOOD).encode(), wbits=16 + zlib.MAX_WBITS)
    async with serve(_backend_route(body, **{"Content-Encoding": "gzip"})) as base:
        async with IonQClient(base_url=base) as client:
            assert (await client.get_backend("qpu.good")).qubits == 25


# 2. One bad item stays that item's, and watch() survives.


async def test_v03_one_unreadable_item_costs_only_its_own_backend(fake_sleep: Sleep) -> None:
    bad = '{"backend": "qpu.bad", "status": 1' + "0" * 4000 + "}"  # a required field, unreadable
    listing = "[" + json.dumps(GOOD) + "," + bad + "]"
    async with serve(_backend_route(listing)) as base:
        async with IonQClient(base_url=base, api_version="v0.3", sleep=fake_sleep) as client:
            snapshot = await client.get_backends(["qpu.good", "qpu.bad"])
            assert list(snapshot) == ["qpu.good"]
            error = snapshot.errors["qpu.bad"]
            assert isinstance(error, ResponseValidationError)
            assert error.problems == (
                ("[1].status", "expected string, got an integer of 4001 digits"),
            )
            watch = client.watch(["qpu.good", "qpu.bad"], interval=0.01)
            events = [await anext(watch) for _ in range(2)]
            await watch.aclose()
    assert {e.name: e.error is None for e in events} == {"qpu.good": True, "qpu.bad": False}


# 3. Nothing outside the IonQError family escapes.


@pytest.mark.parametrize("status", [400, 503])
async def test_a_deeply_nested_error_body_is_kept_as_text(status: int) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=b"[" * 200_000, status=status)

    async with serve({"/v0.4/backends/{name}": handler}) as base:
        async with IonQClient(base_url=base, max_retries=0) as client:
            with pytest.raises(APIStatusError) as caught:
                await client.get_backend("x")
    assert caught.value.status_code == status
    assert isinstance(caught.value.body, str) and caught.value.body.startswith("[[[")


@pytest.mark.parametrize(
    ("field", "raw", "problem"),
    [
        ("qubits", "1" + "0" * 3999, "expected integer in range, got an integer of 4000 digits"),
        ("last_updated", "1" + "0" * 399, "expected epoch seconds"),
        ("last_updated", '"9999-12-31T23:59:59-23:59"', "expected ISO-8601 datetime"),
        ("last_updated", '"0001-01-01T00:00:00+23:59"', "expected ISO-8601 datetime"),
        ("average_queue_time", "NaN", "expected finite number, got NaN"),
        ("average_queue_time", "Infinity", "expected finite number, got Infinity"),
        ("average_queue_time", "1e400", "expected finite number, got Infinity"),
        ("average_queue_time", "-1e400", "expected finite number, got -Infinity"),
        ("characterization_id", '".."', 'expected characterization id, got ".."'),
    ],
)
async def test_out_of_range_values_are_problems_with_a_path(
    field: str, raw: str, problem: str
) -> None:
    body = '{"backend": "qpu.x", "status": "available", "' + field + '": ' + raw + "}"
    version = "v0.3" if raw.startswith("1" + "0" * 300) else "v0.4"
    listing = "[" + body + "]" if version == "v0.3" else body
    async with serve(_backend_route(listing)) as base:
        async with IonQClient(base_url=base, api_version=version, strict=True) as client:
            with pytest.raises(ResponseValidationError) as caught:
                await client.get_backend("qpu.x")
        async with IonQClient(base_url=base, api_version=version) as client:
            lenient = await client.get_backend("qpu.x")  # the field is lost, not the backend
    ((where, message),) = caught.value.problems
    assert where.endswith("." + field)
    assert message.startswith(problem)
    assert lenient.status == "available" and field in lenient.extra


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("http://127.0.0.1:99999/v0.4/backends/y", "malformed Location"),
        ("http://[::1/v0.4/backends/y", "malformed Location"),
        ("{cred}/v0.4/backends/y", "credentials"),
    ],
)
async def test_a_hostile_location_is_refused_not_raised(location: str, message: str) -> None:
    base_url = ""

    async def moved(request: web.Request) -> web.Response:
        cred = base_url.replace("http://", "http://user:pass@")
        return web.Response(status=302, headers={"Location": location.format(cred=cred)})

    async with serve({"/v0.4/backends/{name}": moved}) as base:
        base_url = base
        async with IonQClient(base_url=base) as client:
            with pytest.raises(APIStatusError, match=message) as caught:
                await client.get_backend("x")
    assert caught.value.status_code == 302


@pytest.mark.parametrize("value", ["²", "٣", "1" * 400, "1e3"])
def test_retry_after_that_is_not_ascii_digits_is_ignored_or_huge(value: str) -> None:
    seconds = parse_retry_after({"retry-after": value})
    assert seconds is None or seconds > 1e300


def test_a_v03_characterization_url_ending_in_dots_is_a_problem() -> None:
    from ionq_backends import make_converter

    with pytest.raises(ResponseValidationError) as caught:
        make_converter("v0.3", strict=True).structure(
            {"backend": "a", "status": "available", "characterization_url": "/x/.."}, Backend
        )
    assert caught.value.problems[0][0] == ".characterization_url"


@pytest.mark.parametrize("version", ["v0.3", "v0.4"])
def test_one_bad_field_costs_only_that_field(
    version: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A link that is not an id loses the link, with a warning, not the backend's status; a bad
    required field still fails that backend."""
    from ionq_backends import make_converter

    data = {"backend": "qpu.x", "status": "available", "characterization_id": "..", "qubits": 2}
    with caplog.at_level(logging.WARNING, logger="ionq_backends"):
        backend = make_converter(version).structure(data, Backend)
    assert (backend.status, backend.qubits, backend.characterization_id) == ("available", 2, None)
    assert backend.extra == {"characterization_id": ".."}
    (record,) = caplog.records
    assert record.getMessage() == (
        "ignored an unreadable field of backend object 'qpu.x' (kept in extra): "
        '.characterization_id: expected characterization id, got ".."'
    )
    with pytest.raises(ResponseValidationError):
        make_converter(version).structure({**data, "status": 5}, Backend)


# 4. No derived property raises, and NaN makes no endless changes.


def test_derived_properties_never_raise() -> None:
    for value in (1e300, -1e300, math.nan, math.inf):
        assert Backend("a", "available", "v0.4", average_queue_time=value).queue_time is None


def test_nan_in_extra_is_no_change_on_every_round() -> None:
    from ionq_backends import BackendsSnapshot

    watcher = Watcher(frozenset())
    rounds = [
        BackendsSnapshot({"a": Backend("a", "available", "v0.4", extra={"x": float("nan")})})
        for _ in range(3)
    ]
    events = [watcher.update(r) for r in rounds]
    assert [len(e) for e in events] == [1, 0, 0]


# 5. The key never comes back in an error, whatever the server echoes.


async def test_an_echoed_key_is_scrubbed_from_every_part_of_the_error() -> None:
    async def echo(request: web.Request) -> web.Response:
        auth = request.headers["Authorization"]
        body = {"error": "Unauthorized", "message": f"bad key {auth}", "seen": [auth, {"k": auth}]}
        return web.json_response(body, status=401, headers={"x-request-id": f"id-{auth}"})

    # Characterizations are not public: no once-more-without-the-key, the echo reaches the error.
    async with serve({"/v0.4/backends/{name}/characterizations": echo}) as base:
        async with IonQClient(SECRET, base_url=base) as client:
            with pytest.raises(AuthenticationError) as caught:
                await client.latest_characterization("x")
    error = caught.value
    views = [str(error), repr(error), repr(error.body), repr(vars(error)), repr(error.args)]
    views.append(repr(pickle.dumps(error)))
    for view in views:
        assert SECRET not in view
    assert "[REDACTED]" in str(error)


async def test_a_key_echoed_in_a_200_body_is_scrubbed_from_validation_errors() -> None:
    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"backend": "x", "status": request.headers["Authorization"][7:]
                                  and 5, "name": request.headers["Authorization"]})  # fmt: skip

    async with serve({"/v0.4/backends/{name}": echo}) as base:
        async with IonQClient(SECRET, base_url=base, strict=True) as client:
            with pytest.raises(ResponseValidationError) as caught:
                await client.get_backend("x")
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value.problems)


# 6. Terminal injection: human output shows control characters escaped.


def test_control_characters_are_escaped_in_human_output() -> None:
    from datetime import UTC, datetime

    hostile = "qpu.\x1b]0;pwned\x07\x1b[2J\x9b31m"
    now = datetime.now(UTC)
    text = table(("NAME", "STATUS"), [r[:2] for r in backend_rows(
        [Backend(hostile, "\x1b[31mdown", "v0.4")], now)], {})  # fmt: skip
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
    assert "qpu.\\x1b]0;pwned\\x07" in text
    error = IonQError("boom \x1b[2J")
    line = describe_change(BackendChange(hostile, None, None, error), now)
    assert "\x1b" not in line
    assert printable("tab\there\nline") == "tab\\x09here\\x0aline"


# 7. A pagination loop ends.


async def test_alternating_full_pages_end_the_iteration() -> None:
    def page(prefix: str) -> dict[str, Any]:
        return {"characterizations": [{"id": f"{prefix}{i}"} for i in range(2)], "pages": 9}

    async def handler(request: web.Request) -> web.Response:
        number = int(request.query["page"])
        return web.json_response(page("a" if number % 2 else "b"))

    async with serve({"/v0.4/backends/{name}/characterizations": handler}) as base:
        async with IonQClient(base_url=base) as client:
            seen = []
            with pytest.raises(ResponseValidationError, match="page 3 repeats page 1"):
                async for item in client.iter_characterizations("x", page_size=2):
                    seen.append(item.id)
    assert seen == ["a0", "a1", "b0", "b1"]


# 8. Caller parameters are range-checked.


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"timeout": math.nan}, ValueError),
        ({"timeout": math.inf}, ValueError),
        ({"timeout": -1}, ValueError),
        ({"timeout": "3"}, TypeError),
        ({"max_concurrency": math.nan}, TypeError),
        ({"max_concurrency": 0}, ValueError),
        ({"max_retries": -1}, ValueError),
        ({"retry_after_cap": math.nan}, ValueError),
        ({"retry_after_cap": math.inf}, ValueError),
    ],
)
def test_client_parameters_are_checked(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error, match=next(iter(kwargs))):
        IonQClient(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"interval": math.nan}, ValueError), ({"interval": math.inf}, ValueError),
     ({"interval": 0}, ValueError), ({"jitter": math.nan}, ValueError),
     ({"jitter": 1.0}, ValueError)],
)  # fmt: skip
async def test_watch_parameters_are_checked(kwargs: dict[str, Any], error: type[Exception]) -> None:
    async with IonQClient(base_url="http://127.0.0.1:1") as client:
        with pytest.raises(error, match=next(iter(kwargs))):
            client.watch(**kwargs)


def test_emulator_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match="latency"):
        Emulator(latency=math.nan)
    emulator = Emulator()
    with pytest.raises(ValueError, match="delay"):
        emulator.inject("/v0.4/backends", delay=math.inf)
    with pytest.raises(TypeError, match="times"):
        emulator.inject("/v0.4/backends", times=math.nan)  # type: ignore[arg-type]


# 9. close() during requests.


async def test_close_while_requests_are_in_flight_raises_ionq_errors() -> None:
    hang = Hang()
    async with serve({"/v0.4/backends/{name}": hang.handle}, handler_cancellation=True) as base:
        client = IonQClient(base_url=base)
        task = asyncio.create_task(client.get_backends(["a", "b"]))
        await hang.arrived.wait()
        await client.close()
        snapshot = await asyncio.wait_for(task, timeout=10)
    assert set(snapshot.errors) == {"a", "b"}
    assert all(isinstance(e, APIConnectionError) for e in snapshot.errors.values())


# 10. An outer deadline is never swallowed by retries.


async def test_an_outer_deadline_ends_the_call_on_time() -> None:
    hang = Hang()
    async with serve({"/v0.4/backends": hang.handle}, handler_cancellation=True) as base:
        async with IonQClient(base_url=base, timeout=0.5) as client:
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5):
                    await client.list_backends()
            took = time.monotonic() - started
    assert took < 1.2, took  # three attempts with backoff would take 3 s and more


# 11. The CLI never prints a traceback.


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize(
    ("args", "env", "status"),
    [
        (["get", "..", "--emulator"], None, 2),
        (["get", "", "--emulator"], None, 2),
        (["list", "--emulator", "--timeout", "inf"], None, 2),
        (["emulator", "--port", "99999"], None, 2),
        (["list", "--emulator"], {"IONQ_API_KEY": "abc\ndef"}, 2),
    ],
)
def test_cli_errors_are_one_line_and_a_status(
    args: list[str], env: dict[str, str] | None, status: int
) -> None:
    result = run_cli(*args, env=env)
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip()
    assert "abc" not in result.stderr  # the key is never repeated


def test_cli_port_in_use_is_one_line_and_status_1(busy_port: int) -> None:
    result = run_cli("emulator", "--port", str(busy_port))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# 12. Malformed input is refused when given, not later.


@pytest.mark.parametrize("key", ["abc\r\ndef", "abc\x00", "a b", "caf\udce9"])
def test_a_key_that_cannot_be_sent_as_set_is_refused_at_construction(key: str) -> None:
    with pytest.raises(ValueError, match="api_key") as caught:
        IonQClient(key)
    assert key not in str(caught.value)


async def test_a_server_error_never_leaves_as_anything_but_ionq_error(fake_sleep: Sleep) -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=503, body=b'{"message": 5, "error": []}')

    async with serve({"/v0.4/backends/{name}": broken}) as base:
        async with IonQClient(base_url=base, sleep=fake_sleep) as client:
            with pytest.raises(ServerError):
                await client.get_backend("x")
