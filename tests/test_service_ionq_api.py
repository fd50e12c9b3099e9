"""The monitor answers IonQ's public read endpoints from its rounds (`service/_ionq_api.py`):
in IonQ's shapes (checked against tests/spec), with Age and Cache-Control, IonQ's 404 for what
it does not poll, and no upstream request beyond its own rounds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
from aiohttp import web

from ionq_backends import IonQClient, NotFoundError
from ionq_backends.emulator import Emulator
from ionq_backends.emulator._fleet import default_fleet
from ionq_backends.emulator._versions import RENDERINGS
from ionq_backends.service import MONITOR, _ionq_api, create_app

from .conftest import serve as serve_routes
from .service_support import running
from .test_conformance import V3, response_schema, v4_schemas

HOUR = 3600.0  # one round per test: every later upstream request is the endpoints' doing


def make_app(emulator: Emulator, tmp_path: Path, **options: Any) -> web.Application:
    version = options.pop("api_version", "v0.4")
    key = options.pop("api_key", None)
    timeout = options.pop("client_timeout", 30.0)

    def client() -> IonQClient:
        return IonQClient(key, base_url=emulator.base_url, api_version=version, max_retries=0,
                          timeout=timeout)  # fmt: skip

    options.setdefault("interval", HOUR)
    return create_app(client_factory=client, db_path=tmp_path / "history.sqlite3", **options)


@pytest.fixture
async def serve(ionq_emulator: Emulator, tmp_path: Path) -> AsyncIterator[str]:
    app = make_app(ionq_emulator, tmp_path)
    async with running(app) as url:
        await app[MONITOR].wait_rounds(1)
        yield url


def backends_requests(emulator: Emulator) -> int:
    """How many backends reads (the list or one backend) reached the upstream API."""
    return sum(1 for r in emulator.requests if r.path.rstrip("/").count("/") <= 3
               and "/backends" in r.path and "characterizations" not in r.path)  # fmt: skip


async def get(url: str, **headers: str) -> tuple[int, Any, Any]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, await response.json(), response.headers


async def test_v04_answers_conform_to_the_spec_and_carry_age_and_max_age(
    serve: str, ionq_emulator: Emulator
) -> None:
    schemas = v4_schemas()
    status, fleet, headers = await get(serve + "v0.4/backends")
    assert status == 200
    jsonschema.validate(fleet, schemas["backends"])
    assert {b["backend"] for b in fleet} == set(ionq_emulator.fleet)
    assert headers["Cache-Control"] == "public, max-age=3600"
    assert 0 <= int(headers["Age"]) < 60
    for item in fleet:
        name = item["backend"]
        status, one, _ = await get(serve + f"v0.4/backends/{name}")
        assert status == 200
        jsonschema.validate(one, schemas["backend"])
        assert one == item  # the very item of the list the round kept
        status, page, _ = await get(serve + f"v0.4/backends/{name}/characterizations?limit=2")
        assert status == 200
        jsonschema.validate(page, schemas["characterizations"])


async def test_reads_through_the_monitor_send_nothing_upstream_beyond_its_rounds(
    serve: str, ionq_emulator: Emulator
) -> None:
    before = backends_requests(ionq_emulator)
    assert before >= 1
    async with IonQClient(base_url=serve) as client:
        direct = await IonQClient(base_url=ionq_emulator.base_url).__aenter__()
        try:
            through, upstream = await client.get_backends(), await direct.get_backends()
        finally:
            await direct.close()
        for _ in range(20):
            await client.get_backends()
            await client.get_backend("qpu.forte-1")
    assert set(through) == set(upstream) and not through.errors
    assert {n: b.status for n, b in through.items()} == {n: b.status for n, b in upstream.items()}
    # The direct client's list is the one request more; the 41 reads through the monitor none.
    assert backends_requests(ionq_emulator) == before + 1


async def test_a_name_the_list_leaves_out_is_answered_from_the_rounds_own_request(
    ionq_emulator: Emulator, tmp_path: Path
) -> None:
    ionq_emulator.unlisted.add("qpu.forte-1")
    app = make_app(ionq_emulator, tmp_path, names=["qpu.forte-1", "qpu.aria-1"])
    async with running(app) as url:
        await app[MONITOR].wait_rounds(1)
        before = backends_requests(ionq_emulator)
        async with IonQClient(base_url=url) as client:
            forte = await client.get_backend("qpu.forte-1")
            aria = await client.get_backend("qpu.aria-1")
        assert (forte.name, aria.name) == ("qpu.forte-1", "qpu.aria-1")
        assert backends_requests(ionq_emulator) == before


async def test_a_name_it_does_not_poll_is_ionqs_404(
    ionq_emulator: Emulator, tmp_path: Path
) -> None:
    app = make_app(ionq_emulator, tmp_path, names=["qpu.aria-1"])
    async with running(app) as url:
        await app[MONITOR].wait_rounds(1)
        for path in ("v0.4/backends/qpu.forte-1", "v0.4/backends/qpu.forte-1/characterizations"):
            status, body, _ = await get(url + path)
            assert status == 404
            assert body["statusCode"] == 404 and body["error"] == "Not Found"
            assert "'qpu.forte-1' is not polled by this monitor" in body["message"]
        async with IonQClient(base_url=url) as client:
            with pytest.raises(NotFoundError, match="not polled"):
                await client.get_backend("qpu.forte-1")
        assert not [r for r in ionq_emulator.requests if "forte" in r.path]  # never upstream


@pytest.mark.parametrize(
    "path",
    [
        "v0.3/backends",  # another version than the one it polls
        "v0.4/backends/qpu.forte-1/characterizations/0b2f",  # by id: needs a key
        "v0.4/jobs",
        "v0.4",  # the version root itself
        "v0.4/",
    ],
)
async def test_what_it_does_not_answer_is_ionqs_404_saying_what_it_does(
    serve: str, path: str
) -> None:
    status, body, _ = await get(serve + path)
    assert status == 404
    assert body["statusCode"] == 404
    assert f"GET /{path} is not answered by this monitor" in body["message"]
    assert "of v0.4, the version it polls (backends, backends/{name}," in body["message"]


async def test_a_callers_key_is_never_forwarded_and_has_access_is_left_out(
    ionq_emulator: Emulator, tmp_path: Path
) -> None:
    app = make_app(ionq_emulator, tmp_path, api_key="monitor-key")
    async with running(app) as url:
        await app[MONITOR].wait_rounds(1)
        status, fleet, _ = await get(url + "v0.4/backends", Authorization="apiKey caller-key")
        assert status == 200
        status, page, _ = await get(
            url + "v0.4/backends/qpu.forte-1/characterizations?limit=3&page=1&x=y",
            Authorization="apiKey caller-key",
        )
        assert status == 200 and page["characterizations"]
    assert fleet and all("has_access" not in item for item in fleet)
    asked = [r.query for r in ionq_emulator.requests if r.query.get("limit") == "3"]
    assert asked == [{"limit": "3", "page": "1"}]  # unknown parameters dropped
    # Upstream saw the monitor's key (redacted in the log) or none: the caller's never reached it.
    assert all(r.headers.get("Authorization", "[REDACTED]") == "[REDACTED]"
               for r in ionq_emulator.requests)  # fmt: skip


async def test_a_failed_upstream_read_is_a_gateway_error_answered_for_a_round(
    serve: str, ionq_emulator: Emulator
) -> None:
    path = "/v0.4/backends/qpu.aria-1/characterizations"
    ionq_emulator.inject(path, status=500, times=10)
    ionq_emulator.inject("/v0.4/backends/qpu.harmony/characterizations", status=404)
    for _ in range(3):
        status, body, _ = await get(serve + path.lstrip("/") + "?limit=5")
        assert status == 502
        assert body["statusCode"] == 502 and body["message"].startswith("upstream: ")
    asked = [r for r in ionq_emulator.requests if r.query.get("limit") == "5"]
    assert len(asked) == 1  # the two others answered from memory
    status, body, _ = await get(serve + "v0.4/backends/qpu.harmony/characterizations")
    assert (status, body["statusCode"]) == (404, 404)  # upstream's own 404, passed on


async def test_v03_answers_the_list_and_the_verbose_list_in_its_shape(
    ionq_emulator: Emulator, tmp_path: Path
) -> None:
    schema = response_schema(V3, "/backends")
    app = make_app(ionq_emulator, tmp_path, api_version="v0.3")
    async with running(app) as url:
        await app[MONITOR].wait_rounds(1)
        before = backends_requests(ionq_emulator)
        status, fleet, _ = await get(url + "v0.3/backends")
        assert status == 200
        assert backends_requests(ionq_emulator) == before  # the round's own list
        for _ in range(2):  # the round asks no verbose list: asked once, then kept
            status, verbose, _ = await get(url + "v0.3/backends?status=verbose")
            assert status == 200
        assert backends_requests(ionq_emulator) == before + 1
        status, body, _ = await get(url + "v0.3/backends/qpu.forte-1")
        assert status == 404 and "of v0.3, the version it polls (backends)" in body["message"]
    for backend in fleet + verbose:
        jsonschema.validate(backend, schema)
    assert {b["status"] for b in verbose} - {"available", "unavailable", "retired"}


async def test_before_the_first_round_a_backend_read_is_a_503_to_retry(
    ionq_emulator: Emulator, tmp_path: Path
) -> None:
    ionq_emulator.inject("/v0.4/backends", status=200, delay=30)  # the first round hangs
    app = make_app(ionq_emulator, tmp_path, timeout=60.0)
    async with running(app) as url:
        status, body, headers = await get(url + "v0.4/backends/qpu.forte-1")
        starting = "the monitor has not finished its first round"
        assert (status, body) == (503, {"error": "Service Unavailable", "statusCode": 503,
                                        "message": starting})  # fmt: skip
        assert headers["Retry-After"] == "3600"
        assert app[MONITOR].state.rounds == 0


@pytest.mark.parametrize("limit", [2, 3, 4])
async def test_at_most_max_failed_reads_are_remembered_the_oldest_forgotten_first(
    serve: str, ionq_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    monkeypatch.setattr(_ionq_api, "MAX_FAILED_READS", limit)
    path = "v0.4/backends/qpu.aria-1/characterizations"
    ionq_emulator.inject("/" + path, status=500, times=100)
    for size in (11, 12, 13):  # three failed reads, each its own request
        assert (await get(serve + f"{path}?limit={size}"))[0] == 502
    for size in (11, 12, 13):  # asked again: those still remembered do not go upstream
        assert (await get(serve + f"{path}?limit={size}"))[0] == 502

    def asked(size: int) -> int:
        return sum(r.query.get("limit") == str(size) for r in ionq_emulator.requests)

    # With room for 2, the oldest (11) was forgotten; asking it again forgot 12, and so on.
    expected = {2: [2, 2, 2], 3: [1, 1, 1], 4: [1, 1, 1]}[limit]
    assert [asked(size) for size in (11, 12, 13)] == expected


@pytest.mark.parametrize(
    ("fault", "status", "error", "retry_after"),
    [
        ({"status": 500}, 502, "Bad Gateway", None),
        ({"status": 429, "retry_after": 7}, 502, "Bad Gateway", "7"),
        ({"status": 200, "delay": 5}, 504, "Gateway Timeout", None),
    ],
)
async def test_an_upstream_failure_is_the_gateways_error_in_ionqs_shape(
    ionq_emulator: Emulator,
    tmp_path: Path,
    fault: dict[str, Any],
    status: int,
    error: str,
    retry_after: str | None,
) -> None:
    app = make_app(ionq_emulator, tmp_path, client_timeout=0.5)
    path = "/v0.4/backends/qpu.aria-1/characterizations"
    async with running(app) as url:
        await app[MONITOR].wait_rounds(1)
        ionq_emulator.inject(path, **fault)
        got, body, headers = await get(url + path.lstrip("/") + "?limit=7")
    assert (got, body["error"], body["statusCode"], headers.get("Retry-After")) == (
        status, error, status, retry_after)  # fmt: skip
    assert body["message"].startswith("upstream: ") and "/characterizations" in body["message"]
    assert body.keys() == {"error", "message", "statusCode"}


class Upstream:
    """An upstream API with a bad day: an `Age` on every answer, one backend its client cannot
    read (`qpu.aria-1`, in the list and by name), and characterizations answered 503 with a
    Retry-After past any clock. Every request is counted by path."""

    BAD = "qpu.aria-1"

    def __init__(self, age: str = "100") -> None:
        self.age = age
        self.counts: dict[str, int] = {}
        fleet = default_fleet()
        self.items = {
            name: RENDERINGS["v0.4"].backend(fleet[name], verbose=False, has_key=False)
            for name in ("qpu.forte-1", self.BAD)
        }
        self.items[self.BAD] = {**self.items[self.BAD], "status": {"oops": 1}}
        self.list_body: Any = list(self.items.values())
        self.routes = {
            "/v0.4/backends": self.listing,
            "/v0.4/backends/{name}": self.one,
            "/v0.4/backends/{name}/characterizations": self.page,
        }

    def _counted(self, request: web.Request) -> None:
        self.counts[request.path] = self.counts.get(request.path, 0) + 1

    async def listing(self, request: web.Request) -> web.Response:
        self._counted(request)
        return web.json_response(self.list_body, headers={"Age": self.age})

    async def one(self, request: web.Request) -> web.Response:
        self._counted(request)
        item = self.items.get(request.match_info["name"])
        if item is None:
            body = {"error": "Not Found", "message": "no such backend", "statusCode": 404}
            return web.json_response(body, status=404)
        return web.json_response(item, headers={"Age": self.age})

    async def page(self, request: web.Request) -> web.Response:
        self._counted(request)
        body = {"error": "Service Unavailable", "message": "busy", "statusCode": 503}
        return web.json_response(body, status=503, headers={"Retry-After": "9" * 400})


@asynccontextmanager
async def monitoring(upstream: Upstream, tmp_path: Path) -> AsyncIterator[str]:
    """The monitor, one round done, polling `upstream` (no retries: each read is one request)."""

    def client() -> IonQClient:
        return IonQClient(base_url=base, max_retries=0)

    async with serve_routes(upstream.routes) as base:
        app = create_app(client_factory=client, db_path=tmp_path / "h.sqlite3", interval=HOUR)
        async with running(app) as url:
            await app[MONITOR].wait_rounds(1)
            yield url


async def test_age_counts_from_when_the_upstream_made_the_answer(tmp_path: Path) -> None:
    """The upstream's own `Age` is added to the monitor's keeping (RFC 9111 4.2.3); an
    unreadable or absurd one reads as 0 or as 2**31."""
    for said, least, most in (("100", 100, 160), ("1" * 30, 2**31, 2**31 + 60), ("-5", 0, 60)):
        async with monitoring(Upstream(age=said), tmp_path) as url:
            for path in ("v0.4/backends", "v0.4/backends/qpu.forte-1"):
                status, _, headers = await get(url + path)
                assert status == 200
                assert least <= int(headers["Age"]) < most, (said, path)


async def test_a_backend_the_monitor_cannot_read_is_left_out_and_its_read_is_a_502(
    tmp_path: Path,
) -> None:
    upstream = Upstream()
    schemas = v4_schemas()
    async with monitoring(upstream, tmp_path) as url:
        status, fleet, _ = await get(url + "v0.4/backends")
        assert status == 200
        jsonschema.validate(fleet, schemas["backends"])
        assert [b["backend"] for b in fleet] == ["qpu.forte-1"]  # the readable one alone
        asked = upstream.counts.get("/v0.4/backends/qpu.aria-1", 0)
        for _ in range(3):
            status, body, _ = await get(url + "v0.4/backends/qpu.aria-1")
            assert (status, body["statusCode"]) == (502, 502)
            assert body["message"].startswith("upstream: invalid response: $.status")
        # Asked upstream once, then answered as failed for the round: no more requests.
        assert upstream.counts["/v0.4/backends/qpu.aria-1"] == asked + 1
        status, one, _ = await get(url + "v0.4/backends/qpu.forte-1")
        assert status == 200 and one == fleet[0]


async def test_an_answer_the_monitor_cannot_read_at_all_is_a_502_never_a_200(
    tmp_path: Path,
) -> None:
    upstream = Upstream()
    upstream.list_body = {"message": "maintenance"}  # a 200 that is no list
    async with monitoring(upstream, tmp_path) as url:
        for _ in range(2):
            status, body, _ = await get(url + "v0.4/backends")
            assert (status, body["error"]) == (502, "Bad Gateway")
            assert body["message"].startswith("upstream: invalid response")
            assert body.keys() == {"error", "message", "statusCode"}


async def test_an_upstream_retry_after_past_any_clock_is_passed_on_as_a_round(
    tmp_path: Path,
) -> None:
    async with monitoring(Upstream(), tmp_path) as url:
        status, body, headers = await get(url + "v0.4/backends/qpu.forte-1/characterizations")
    assert (status, body["statusCode"]) == (502, 502)
    assert headers["Retry-After"] == str(int(HOUR))  # the monitor asks again within a round
