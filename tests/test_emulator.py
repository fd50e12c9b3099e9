"""The emulator: every path in both versions, IonQ's error format, controls and fault injection."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import attrs
import pytest

from ionq_backends import IonQClient, Timing
from ionq_backends.emulator import OMIT, SCENARIOS, Emulator, Scenario, Step
from ionq_backends.emulator._fleet import default_fleet
from ionq_backends.emulator._scenarios import calibrated, play
from ionq_backends.emulator._versions import RENDERINGS

from .conftest import ClockLoop, run_on_clock


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def get(http: aiohttp.ClientSession, emu: Emulator, path: str, **kw: Any) -> tuple[int, Any]:
    async with http.get(emu.base_url + path, **kw) as response:
        assert response.headers["x-request-id"].startswith("emu-")
        return response.status, await response.json(content_type=None)


@pytest.mark.parametrize(
    "path",
    [
        "/v0.3/backends",
        "/v0.3/backends?status=verbose",
        "/v0.3/characterizations/backends/qpu.aria-1",
        "/v0.3/characterizations/backends/qpu.aria-1/current",
        "/v0.4/backends",
        "/v0.4/backends/qpu.forte-1",
        "/v0.4/backends/qpu.forte-1/characterizations",
        "/v0.4/backends/simulator/characterizations",
    ],
)
async def test_every_path_answers(
    ionq_emulator: Emulator, http: aiohttp.ClientSession, path: str
) -> None:
    status, _body = await get(http, ionq_emulator, path)
    assert status == 200


async def test_default_fleet(ionq_emulator: Emulator, http: aiohttp.ClientSession) -> None:
    _status, fleet = await get(http, ionq_emulator, "/v0.4/backends")
    names = {b["backend"] for b in fleet}
    assert {"qpu.aria-1", "qpu.aria-2", "qpu.forte-1", "qpu.forte-enterprise-1",
            "qpu.forte-enterprise-2", "qpu.forte-enterprise-3", "qpu.tempo-1",
            "simulator"} <= names  # fmt: skip
    assert {b["status"] for b in fleet} == {"available", "unavailable", "retired"}
    aria = next(b for b in fleet if b["backend"] == "qpu.aria-1")
    assert aria["qubits"] == 25
    assert aria["last_updated"].endswith("Z")
    assert {"kw", "location", "supported_gates", "supported_native_gates",
            "supported_error_mitigations", "characterization_id"} <= aria.keys()  # fmt: skip


async def test_v03_renders_the_same_state_in_its_own_format(
    ionq_emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    _s, v3 = await get(http, ionq_emulator, "/v0.3/backends")
    _s, v4 = await get(http, ionq_emulator, "/v0.4/backends")
    aria3 = next(b for b in v3 if b["backend"] == "qpu.aria-1")
    aria4 = next(b for b in v4 if b["backend"] == "qpu.aria-1")
    assert isinstance(aria3["last_updated"], int)
    assert aria3["characterization_url"] == f"/characterizations/{aria4['characterization_id']}"
    assert "kw" not in aria3
    assert aria3["average_queue_time"] == aria4["average_queue_time"]
    harmony = next(b for b in v3 if b["backend"] == "qpu.harmony")
    assert harmony["status"] == "unavailable"  # v0.3 has no `retired`


async def test_v03_verbose_statuses(ionq_emulator: Emulator, http: aiohttp.ClientSession) -> None:
    _s, v3 = await get(http, ionq_emulator, "/v0.3/backends?status=verbose")
    status = {b["backend"]: b["status"] for b in v3}
    assert status["qpu.aria-1"] == "running"
    assert status["qpu.aria-2"] == "calibrating"
    assert status["qpu.forte-enterprise-2"] == "reserved"
    assert status["qpu.forte-enterprise-3"] == "offline"
    assert status["qpu.harmony"] == "offline"


async def test_has_access_follows_the_key(
    ionq_emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    _s, anonymous = await get(http, ionq_emulator, "/v0.3/backends")
    _s, keyed = await get(
        http, ionq_emulator, "/v0.3/backends", headers={"Authorization": "apiKey k"}
    )
    assert not anonymous[0]["has_access"]
    assert keyed[0]["has_access"]


async def test_characterization_paging(
    ionq_emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    base = "/v0.4/backends/qpu.aria-1/characterizations?limit=10&page="
    pages = [await get(http, ionq_emulator, f"{base}{n}") for n in (1, 2, 3, 4)]
    sizes = [len(body["characterizations"]) for _s, body in pages]
    assert sizes == [10, 10, 3, 0]
    assert [body["pages"] for _s, body in pages] == [2, 1, 0, 0]
    dates = [c["date"] for _s, body in pages for c in body["characterizations"]]
    assert dates == sorted(dates, reverse=True)


async def test_characterization_date_filters(
    ionq_emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    items = ionq_emulator.fleet["qpu.aria-1"].characterizations
    newest, third = items[0]["date"], items[2]["date"]
    window = f"start={third.date().isoformat()}&end={newest.date().isoformat()}"
    _s, v4 = await get(http, ionq_emulator, f"/v0.4/backends/qpu.aria-1/characterizations?{window}")
    assert len(v4["characterizations"]) == 2
    ms = int(third.timestamp() * 1000)
    _s, v3 = await get(
        http, ionq_emulator, f"/v0.3/characterizations/backends/qpu.aria-1?start={ms}"
    )
    assert len(v3["characterizations"]) == 3


async def test_characterization_by_id(ionq_emulator: Emulator, http: aiohttp.ClientSession) -> None:
    cid = ionq_emulator.fleet["qpu.forte-1"].characterizations[4]["id"]
    s3, v3 = await get(http, ionq_emulator, f"/v0.3/characterizations/{cid}")
    s4, v4 = await get(http, ionq_emulator, f"/v0.4/backends/qpu.forte-1/characterizations/{cid}")
    assert (s3, s4) == (200, 200)
    assert v3["id"] == v4["id"] == cid
    assert "mean" in v3["fidelity"]["2q"]
    assert "median" in v4["fidelity"]["2q"]
    assert v4["fidelity"]["spam"]["stderr"] is None
    assert isinstance(v3["timing"]["reset"], float)
    assert len(v4["connectivity"]) == 36 * 35 // 2


async def test_simulator_has_null_characterizations_and_no_current(
    ionq_emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    _s, page = await get(http, ionq_emulator, "/v0.4/backends/simulator/characterizations")
    assert page == {"characterizations": None, "pages": 0}
    status, body = await get(
        http, ionq_emulator, "/v0.3/characterizations/backends/simulator/current"
    )
    assert status == 404
    assert body["statusCode"] == 404


@pytest.mark.parametrize(
    ("path", "status", "key"),
    [
        ("/v0.4/backends/qpu.nope", 404, None),
        ("/v0.4/nothing", 404, None),
        ("/v0.5/backends", 404, None),
        ("/v0.4/backends/qpu.aria-1/characterizations/not-an-id", 404, None),
        ("/v0.3/characterizations/not-an-id", 404, None),
        ("/v0.4/backends/qpu.aria-1/characterizations?limit=11", 400, "limit"),
        ("/v0.4/backends/qpu.aria-1/characterizations?limit=0", 400, "limit"),
        ("/v0.4/backends/qpu.aria-1/characterizations?limit=ten", 400, "limit"),
        ("/v0.4/backends/qpu.aria-1/characterizations?page=0", 400, "page"),
        ("/v0.4/backends/qpu.aria-1/characterizations?start=last-week", 400, "start"),
        ("/v0.3/characterizations/backends/qpu.aria-1?end=2025-01-01", 400, "end"),
        ("/v0.3/backends?status=loud", 400, "status"),
        ("/v0.4/backends/%ZZ%", 404, None),
    ],
)
async def test_errors_in_ionq_format(
    ionq_emulator: Emulator, http: aiohttp.ClientSession, path: str, status: int, key: str | None
) -> None:
    got, body = await get(http, ionq_emulator, path)
    assert got == status
    assert body["statusCode"] == status
    assert body["error"] and body["message"]
    if key:
        assert body["validation"]["keys"] == [key]


async def test_other_methods_get_an_ionq_error(
    ionq_emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    async with http.post(
        ionq_emulator.base_url + "/v0.4/backends", data=b"\x00garbage"
    ) as response:
        assert response.status == 404
        body = await response.json()
    assert body == {"error": "Not Found", "message": "Route POST:/v0.4/backends not found",
                    "statusCode": 404}  # fmt: skip


async def test_set_and_remove_backend(ionq_emulator: Emulator, http: aiohttp.ClientSession) -> None:
    ionq_emulator.set_backend("qpu.aria-1", status="unavailable", degraded=OMIT, qubits=None)
    ionq_emulator.set_backend("qpu.new-1", qubits=100, carbon_g=12.5)
    ionq_emulator.remove_backend("qpu.forte-1")
    _s, fleet = await get(http, ionq_emulator, "/v0.4/backends")
    by_name = {b["backend"]: b for b in fleet}
    assert by_name["qpu.aria-1"]["status"] == "unavailable"
    assert "degraded" not in by_name["qpu.aria-1"]
    assert by_name["qpu.aria-1"]["qubits"] is None
    assert by_name["qpu.new-1"]["carbon_g"] == 12.5
    assert "qpu.forte-1" not in by_name
    status, _ = await get(http, ionq_emulator, "/v0.4/backends/qpu.forte-1")
    assert status == 404


async def test_inject_counts_and_paths(
    ionq_emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    ionq_emulator.inject("v0.4/backends", status=500, times=2)  # leading slash optional
    ionq_emulator.inject("/v0.4/never-requested", status=500)
    statuses = [(await get(http, ionq_emulator, "/v0.4/backends"))[0] for _ in range(3)]
    assert statuses == [500, 500, 200]
    status, _ = await get(http, ionq_emulator, "/v0.4/backends/qpu.aria-1")
    assert status == 200


async def test_inject_retry_after_and_body(
    ionq_emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    ionq_emulator.inject(
        "/v0.4/backends", status=429, retry_after=3, body={"code": 429, "message": "x"}
    )
    async with http.get(ionq_emulator.base_url + "/v0.4/backends") as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "3"
        assert await response.json() == {"code": 429, "message": "x"}


@pytest.mark.parametrize("status", [0, 99, 600, 1000])
def test_inject_invalid_status(status: int) -> None:
    with pytest.raises(ValueError, match="status"):
        Emulator().inject("/v0.4/backends", status=status)


def test_inject_invalid_times_and_delay() -> None:
    with pytest.raises(ValueError, match="times"):
        Emulator().inject("/v0.4/backends", times=0)
    with pytest.raises(ValueError, match="delay"):
        Emulator().inject("/v0.4/backends", delay=-1)


def test_non_loopback_host_needs_opt_in() -> None:
    with pytest.raises(ValueError, match="loopback"):
        Emulator(host="0.0.0.0")
    assert Emulator(host="0.0.0.0", allow_remote=True).host == "0.0.0.0"


async def test_requests_are_recorded_with_authorization_redacted(
    ionq_emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    await get(http, ionq_emulator, "/v0.4/backends?x=1", headers={"Authorization": "apiKey hush"})
    (recorded,) = ionq_emulator.requests
    assert recorded.path == "/v0.4/backends"
    assert recorded.query == {"x": "1"}
    assert recorded.headers["Authorization"] == "[REDACTED]"
    assert "hush" not in repr(recorded)


async def test_base_url_needs_a_running_emulator() -> None:
    emulator = Emulator()
    with pytest.raises(RuntimeError, match="not running"):
        _ = emulator.base_url
    async with emulator:
        assert emulator.base_url.startswith("http://127.0.0.1:")
    await emulator.stop()  # idempotent


async def test_api_key_guard(http: aiohttp.ClientSession) -> None:
    async with Emulator(api_key="k") as guarded:
        status, body = await get(http, guarded, "/v0.4/backends")
        assert (status, body["statusCode"]) == (401, 401)
        status, _ = await get(
            http, guarded, "/v0.4/backends", headers={"Authorization": "apiKey k"}
        )
        assert status == 200


async def test_request_log_can_be_switched_off(http: aiohttp.ClientSession) -> None:
    async with Emulator(record_requests=False) as quiet:
        status, _ = await get(http, quiet, "/v0.4/backends")
        assert status == 200
        assert len(quiet.requests) == 0


async def test_clear_faults_drops_every_queued_fault(
    ionq_emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    ionq_emulator.inject("/v0.4/backends", status=500, times=5)
    ionq_emulator.clear_faults()
    status, _ = await get(http, ionq_emulator, "/v0.4/backends")
    assert status == 200


async def test_the_emulator_sends_what_live_captures_show(ionq_emulator: Emulator) -> None:
    """tempo-1 has 100 qubits; its 1q statistic has no `stderr` key; a retired machine's old
    characterizations are `fidelity: {}` and `timing: {}`, which the client reads as empty."""
    async with aiohttp.ClientSession() as http:
        base = f"{ionq_emulator.base_url}/v0.4/backends"
        async with http.get(f"{base}/qpu.tempo-1") as response:
            assert (await response.json())["qubits"] == 100
        async with http.get(f"{base}/qpu.tempo-1/characterizations?limit=1") as response:
            (tempo,) = (await response.json())["characterizations"]
        async with http.get(f"{base}/qpu.harmony/characterizations?limit=1") as response:
            (harmony,) = (await response.json())["characterizations"]
    assert tempo["fidelity"]["1q"].keys() == {"median"}
    assert "stderr" in tempo["fidelity"]["2q"]
    assert harmony["fidelity"] == {} and harmony["timing"] == {}
    async with IonQClient(base_url=ionq_emulator.base_url) as client:
        read = await client.latest_characterization("qpu.harmony")
        tempo_read = await client.latest_characterization("qpu.tempo-1")
    assert read is not None and read.fidelity == {} and read.timing == Timing()
    assert tempo_read is not None and tempo_read.fidelity["1q"].stderr is None


def test_the_day_scenario_holds_every_kind_of_change() -> None:
    day = SCENARIOS["day"]()
    assert day.name == "day"
    assert day.length == 86400 and [s.at for s in day.steps] == sorted(s.at for s in day.steps)
    changes = {(s.backend, tuple(sorted(s.fields.items())), s.calibrate) for s in day.steps}
    assert ("qpu.aria-1", (("status", "unavailable"),), False) in changes  # an outage
    assert ("qpu.aria-1", (("status", "available"),), False) in changes  # its recovery
    assert ("qpu.forte-enterprise-1", (("degraded", True),), False) in changes
    assert ("qpu.forte-enterprise-1", (("degraded", False),), False) in changes
    assert ("qpu.aria-2", (("status", "retired"),), False) in changes
    assert sum(s.calibrate for s in day.steps) == 2
    queues = [s.fields["average_queue_time"] for s in day.steps
              if s.backend == "qpu.forte-1" and "average_queue_time" in s.fields]  # fmt: skip
    assert len(queues) == 48 and max(queues) > 3 * min(queues)  # they swing


async def test_a_scenario_plays_in_compressed_time_and_stops_with_the_emulator() -> None:
    steps = (
        Step(0.0, "qpu.aria-1", {"status": "unavailable"}),
        Step(50.0, "qpu.forte-1", calibrate=True),
        Step(100.0, "qpu.aria-1", {"status": "available"}),
    )
    emulator = Emulator(scenario=Scenario("test", 200.0, steps), speed=2000.0)
    async with emulator, IonQClient(base_url=emulator.base_url) as client:
        before = (await client.get_backend("qpu.forte-1")).characterization_id
        seen: list[tuple[str, str]] = []
        updates = client.watch(["qpu.aria-1", "qpu.forte-1"], interval=0.005)
        async for change in updates:
            if change.current is not None and change.previous is not None:
                fields = change.changed_fields
                seen += [(change.name, f) for f in fields if f != "last_updated"]
            if ("qpu.forte-1", "characterization_id") in seen and (
                "qpu.aria-1", "status") in seen:  # fmt: skip
                break
        await updates.aclose()
        after = await client.get_backend("qpu.forte-1")
    assert after.characterization_id not in (None, before)  # a new calibration
    assert emulator.played[: len(steps)] == list(steps)
    assert [t.get_name() for t in asyncio.all_tasks()].count("ionq-emulator-scenario") == 0


def test_a_scenario_is_checked_when_the_emulator_is_made() -> None:
    with pytest.raises(ValueError, match="unknown scenario 'night' \\(known: day\\)"):
        Emulator(scenario="night")
    with pytest.raises(ValueError, match="speed"):
        Emulator(scenario="day", speed=0)


def test_play_applies_each_step_when_due_cycle_after_cycle() -> None:
    steps = (Step(0.0, "qpu.a", {"status": "unavailable"}), Step(25.0, "qpu.a", {"qubits": 1}))
    scenario = Scenario("test", 100.0, steps)  # a cycle of 100 s, at speed 200: 0.5 s

    async def check(loop: ClockLoop) -> None:
        applied: list[tuple[Step, datetime]] = []
        player = asyncio.create_task(
            play(scenario, 200.0, lambda step, now: applied.append((step, now)))
        )
        counts = []
        for moved in [0.0] + [0.125] * 8:  # the clock moved on by 0.125 s at a time, to 1 s
            await loop.advance(moved)
            await loop.advance(0)  # and what is due at this instant has run
            counts.append(len(applied))
        player.cancel()
        with pytest.raises(asyncio.CancelledError):
            await player
        # Due at 0, 0.125, then a cycle later at 0.5 and 0.625, then 1.0: never early.
        assert counts == [1, 2, 2, 2, 3, 4, 4, 4, 5]
        assert [step for step, _ in applied] == [*steps, *steps, steps[0]]
        assert all(now.tzinfo is UTC for _, now in applied)

    run_on_clock(check)


def test_a_calibration_prepends_a_new_characterization_dated_now() -> None:
    machine = default_fleet()["qpu.forte-1"]
    old = list(machine.characterizations)
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    fields = calibrated(machine, now)
    new, *kept = fields["characterizations"]
    assert kept == old  # the history stays, newest first
    assert new == {**old[0], "id": new["id"], "date": now}
    assert new["id"] != old[0]["id"] and str(uuid.UUID(new["id"])) == new["id"]
    assert fields["characterization_id"] == new["id"]
    bare = default_fleet()["qpu.forte-1"]
    bare.update({"characterizations": []})
    assert calibrated(bare, now) == {}  # nothing to calibrate from


async def test_a_disconnect_fault_sends_a_partial_json_answer_then_drops(
    ionq_emulator: Emulator,
) -> None:
    ionq_emulator.inject("/v0.4/backends", disconnect=True)
    host, port = ionq_emulator.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(f"GET /v0.4/backends HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        async with asyncio.timeout(10):
            head = (await reader.readuntil(b"\r\n\r\n")).decode().lower()
            body = await reader.read()  # up to the drop: far short of its length
    finally:
        writer.close()
    assert head.startswith("http/1.1 200 ")
    assert "content-length: 4096\r\n" in head and "content-type: application/json" in head
    assert body == b'[{"backend": "qpu.'


@pytest.mark.parametrize(
    ("options", "status", "content_type", "body", "retry_after"),
    [
        ({}, 503, "application/json",
         b'{"error":"Service Unavailable","message":"injected fault (503)","statusCode":503}',
         None),
        ({"status": 429, "retry_after": 2.5}, 429, "application/json",
         b'{"error":"Too Many Requests","message":"injected fault (429)","statusCode":429}',
         "2.5"),
        ({"status": 429, "retry_after": "Wed, 21 Oct 2026 07:28:00 GMT"}, 429,
         "application/json", None, "Wed, 21 Oct 2026 07:28:00 GMT"),
        ({"status": 502, "body": "  <html><title>Bad gateway</title></html>"}, 502,
         "text/html", b"  <html><title>Bad gateway</title></html>", None),
        ({"status": 200, "body": b'{"backend": 1}'}, 200, "application/json",
         b'{"backend": 1}', None),
        ({"status": 500, "body": {"oops": [1, 2]}}, 500, "application/json",
         b'{"oops":[1,2]}', None),
    ],
)  # fmt: skip
async def test_an_injected_fault_answers_as_told(
    ionq_emulator: Emulator,
    options: dict[str, Any],
    status: int,
    content_type: str,
    body: bytes | None,
    retry_after: str | None,
) -> None:
    ionq_emulator.inject("v0.4/backends", **options)  # the leading slash is optional
    async with aiohttp.ClientSession() as http:
        async with http.get(ionq_emulator.base_url + "/v0.4/backends") as response:
            got = (response.status, response.content_type, response.headers.get("Retry-After"))
            raw = await response.read()
        async with http.get(ionq_emulator.base_url + "/v0.4/backends") as after:
            assert after.status == 200  # one time by default: the next request is served
    assert got == (status, content_type, retry_after)
    if body is not None:
        assert raw == body


@pytest.mark.parametrize(
    ("options", "refusal"),
    [
        ({"status": 99}, "status must be in [100, 599], got 99"),
        ({"status": 600}, "status must be in [100, 599], got 600"),
        ({"times": 0}, "times must be >= 1, got 0"),
        ({"delay": -1}, "delay must be a finite number >= 0, got -1"),
        ({"retry_after": -1}, "retry_after must be a finite number >= 0, got -1"),
    ],
)
def test_a_fault_is_checked_when_injected(options: dict[str, Any], refusal: str) -> None:
    with pytest.raises(ValueError) as raised:  # noqa: PT011 (the whole message is checked)
        Emulator().inject("/v0.4/backends", **options)
    assert str(raised.value) == refusal


@pytest.mark.parametrize("options", [{"status": 100}, {"status": 599}, {"delay": 0},
                                     {"retry_after": 0}, {"times": 1}])  # fmt: skip
def test_a_fault_at_each_limit_is_taken(options: dict[str, Any]) -> None:
    Emulator().inject("/v0.4/backends", **options)


# What the emulator serves, pinned: every backend of its default fleet in both versions with
# all its characterizations, and the day scenario's steps, each as a digest of its canonical
# JSON. Users' tests read these values; a change here is a change for them. When the fleet
# changes on purpose, print the new digests with `emulator_digests()` and paste them.
PINNED = {
    "v0.3 qpu.aria-1": "b10b5fa714ee449c",
    "v0.3 qpu.aria-2": "6241a9d13aaf5bfc",
    "v0.3 qpu.forte-1": "bf1991c207810bb8",
    "v0.3 qpu.forte-enterprise-1": "136f80b0403cf319",
    "v0.3 qpu.forte-enterprise-2": "f59a5300e82d1e7a",
    "v0.3 qpu.forte-enterprise-3": "d24e5de1744c4ce2",
    "v0.3 qpu.tempo-1": "bb16829539c52bf8",
    "v0.3 qpu.harmony": "7a6cca86f0dd1bfd",
    "v0.3 simulator": "22fd0800f24a1c18",
    "v0.4 qpu.aria-1": "39a54f863f69d317",
    "v0.4 qpu.aria-2": "3cc3ca1b7c0242f4",
    "v0.4 qpu.forte-1": "1b0770b5512981b6",
    "v0.4 qpu.forte-enterprise-1": "4ca5df4869ce172a",
    "v0.4 qpu.forte-enterprise-2": "6038f56b109ef580",
    "v0.4 qpu.forte-enterprise-3": "bb8475c9c0255b20",
    "v0.4 qpu.tempo-1": "c9a6532b149ac5c0",
    "v0.4 qpu.harmony": "a94dc821e0de9ced",
    "v0.4 simulator": "53e9baf5b3a7e093",
    "day": "c27dcd9110ead8dd",
}


def emulator_digests() -> dict[str, str]:
    def digest(value: Any) -> str:
        text = json.dumps(value, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    fleet = default_fleet(datetime(2026, 11, 21, 12, 34, 56, 789000, tzinfo=UTC))  # no round time
    found = {
        f"{version} {name}": digest(
            [
                rendering.backend(machine, verbose=True, has_key=True),
                [rendering.characterization(c) for c in machine.characterizations],
            ]
        )
        for version, rendering in RENDERINGS.items()
        for name, machine in fleet.items()
    }
    found["day"] = digest([attrs.asdict(step) for step in SCENARIOS["day"]().steps])
    return found


def test_the_emulators_fleet_and_day_are_what_users_were_given() -> None:
    found = emulator_digests()
    assert {k: v for k, v in found.items() if PINNED.get(k) != v} == {}
    assert found.keys() == PINNED.keys()


def test_a_machine_links_its_set_characterization_else_its_newest_else_none() -> None:
    machine = default_fleet()["qpu.forte-1"]
    newest, older = machine.characterizations[0]["id"], machine.characterizations[1]["id"]
    assert machine.characterization_id() == newest
    machine.update({"characterization_id": older})  # set by hand: it wins
    assert machine.characterization_id() == older
    machine.update({"characterization_id": None, "characterizations": []})
    assert machine.characterization_id() is OMIT
    assert repr(OMIT) == "OMIT"
