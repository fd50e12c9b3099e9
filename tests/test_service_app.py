"""The monitor's app against the embedded emulator: JSON, /metrics, /healthz, server-sent
events, static files and headers, mounting, and a clean lifetime."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from ionq_backends import IonQClient
from ionq_backends._constants import GONE_AFTER_ROUNDS
from ionq_backends.emulator import Emulator
from ionq_backends.service import MONITOR, Monitor, _monitor, create_app
from ionq_backends.service._constants import SSE_RETRY_MS
from ionq_backends.service._history import SampleRow
from ionq_backends.service._store import HistoryDB

from .conftest import ionq_tasks
from .service_support import running


def make_app(emulator: Emulator, tmp_path: Path, **options: Any) -> web.Application:
    """The monitor on the emulator with a client that does not retry (instant rounds)."""

    def client() -> IonQClient:
        return IonQClient(base_url=emulator.base_url, max_retries=0)

    options.setdefault("interval", 0.05)
    return create_app(client_factory=client, db_path=tmp_path / "history.sqlite3", **options)


@pytest.fixture
async def served(
    ionq_emulator: Emulator, tmp_path: Path
) -> AsyncIterator[tuple[str, Monitor, aiohttp.ClientSession]]:
    app = make_app(ionq_emulator, tmp_path)
    async with running(app) as url, aiohttp.ClientSession() as http:
        monitor = app[MONITOR]
        await monitor.wait_rounds(1)
        yield url, monitor, http


async def get_json(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with http.get(url) as response:
        return response.status, await response.json()


async def test_fleet_lists_every_backend_the_api_lists(
    served: tuple[str, Monitor, aiohttp.ClientSession], ionq_emulator: Emulator
) -> None:
    url, _, http = served
    status, body = await get_json(http, url + "api/fleet")
    assert status == 200
    rows = {row["name"]: row for row in body["backends"]}
    assert set(rows) == set(ionq_emulator.fleet)  # tempo-1, harmony, simulator too
    assert rows["qpu.aria-1"]["queue_seconds"] == 1181.215
    assert rows["qpu.harmony"]["status"] == "retired"
    assert rows["qpu.forte-enterprise-2"]["degraded"] is True
    assert body["interval"] == 0.05 and body["rounds"] >= 1


async def test_metrics_match_the_emulated_fleet(
    served: tuple[str, Monitor, aiohttp.ClientSession], ionq_emulator: Emulator
) -> None:
    url, monitor, http = served
    # The monitor reads the fleet from the list: a malformed item is that backend's error.
    good = ionq_emulator.fleet["qpu.forte-1"].fields["status"]
    ionq_emulator.set_backend("qpu.forte-1", status=5)
    await monitor.wait_for(
        lambda: (
            monitor.state.views["qpu.forte-1"].failed_rounds >= 2
            and all(v.characterization_checked for v in monitor.state.views.values() if v.backend)
        )
    )
    async with http.get(url + "metrics") as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        text = await response.text()
    families = {f.name: f for f in text_string_to_metric_families(text)}

    def value(family: str, **labels: str) -> float:
        found = [s.value for s in families[family].samples if s.labels == labels]
        assert len(found) == 1, (family, labels, families[family].samples)
        return found[0]

    for name, machine in ionq_emulator.fleet.items():
        fields = {**machine.fields, "status": good} if name == "qpu.forte-1" else machine.fields
        failing = name == "qpu.forte-1"  # its last fetches failed: not known to be up
        up = fields["status"] == "available" and not failing
        assert value("ionq_backend_up", backend=name) == float(up)
        assert value("ionq_backend_stale", backend=name) == float(failing)
        assert value("ionq_backend_queue_seconds", backend=name) == pytest.approx(
            fields["average_queue_time"] / 1000
        )
        assert value("ionq_backend_qubits", backend=name) == fields["qubits"]
        assert value("ionq_backend_degraded", backend=name) == float(fields["degraded"])
        info = {"backend": name, "status": fields["status"], "api_version": "v0.4"}
        assert value("ionq_backend_info", **info) == 1.0
        chars = machine.characterizations
        if chars:
            latest = chars[0]
            for kind, (fidelity, _) in latest["fidelity"].items():
                assert value("ionq_characterization_fidelity", backend=name, kind=kind) == fidelity
            age = value("ionq_characterization_age_seconds", backend=name)
            expected = (monitor.state.last_round_ended - latest["date"]).total_seconds()
            assert age == pytest.approx(expected, abs=120)
        else:
            assert not [s for s in families["ionq_characterization_age_seconds"].samples
                        if s.labels["backend"] == name]  # fmt: skip
    errors = families["ionq_poll_errors"]  # a counter: its samples are ionq_poll_errors_total
    assert errors.type == "counter"
    (failed,) = [s for s in errors.samples if s.name == "ionq_poll_errors_total"]
    assert failed.labels == {"backend": "qpu.forte-1", "error": "ResponseValidationError"}
    assert failed.value >= 2
    rounds = families["ionq_poll_round_duration_seconds"]
    count = [s.value for s in rounds.samples if s.name.endswith("_count")]
    assert rounds.type == "histogram" and count[0] >= 2
    assert families["ionq_poll_last_round_timestamp_seconds"].samples[0].value > 0
    (stale_after,) = families["ionq_poll_stale_after_seconds"].samples
    assert stale_after.value == monitor.state.stale_after > 3 * monitor.interval


async def test_each_app_has_its_own_registry(ionq_emulator: Emulator, tmp_path: Path) -> None:
    first = make_app(ionq_emulator, tmp_path / "1", names=["qpu.aria-1"])
    second = make_app(ionq_emulator, tmp_path / "2", names=["qpu.forte-1"])
    (tmp_path / "1").mkdir()
    (tmp_path / "2").mkdir()
    assert first[MONITOR].metrics.registry is not second[MONITOR].metrics.registry
    async with running(first) as one, running(second) as two, aiohttp.ClientSession() as http:
        await first[MONITOR].wait_rounds(1)
        await second[MONITOR].wait_rounds(1)
        async with http.get(one + "metrics") as a, http.get(two + "metrics") as b:
            text_a, text_b = await a.text(), await b.text()
    assert 'backend="qpu.aria-1"' in text_a and 'backend="qpu.forte-1"' not in text_a
    assert 'backend="qpu.forte-1"' in text_b and 'backend="qpu.aria-1"' not in text_b


async def test_history_api_serves_samples_and_events(
    served: tuple[str, Monitor, aiohttp.ClientSession], ionq_emulator: Emulator
) -> None:
    url, monitor, http = served
    ionq_emulator.set_backend("qpu.aria-1", status="unavailable")
    aria = monitor.state.views["qpu.aria-1"]
    await monitor.wait_for(
        lambda: aria.backend is not None and aria.backend.status == "unavailable"
    )
    await monitor.history.flush()
    status, body = await get_json(
        http, url + "api/history?backend=qpu.aria-1&since=2026-11-21T11:00:00Z&until=1795262400"
    )
    assert (status, body["backend"], body["since"], body["until"]) == (
        200, "qpu.aria-1", 1795258800.0, 1795262400.0)  # fmt: skip
    assert (body["series"], body["events"]) == ({}, [])  # nothing then: the fleet is from now
    status, body = await get_json(http, url + "api/history?backend=qpu.aria-1&since=1h")
    assert status == 200
    assert set(body["series"]) == {"qpu.aria-1"}
    assert {e["backend"] for e in body["events"]} == {"qpu.aria-1"}  # only the one asked for
    series = body["series"]["qpu.aria-1"]
    assert series["queue_seconds"][-1] == 1181.215
    assert 0 <= series["availability"][-1] < 1  # available, then not, within one bucket
    assert body["step"] == 60
    kinds = [(e["kind"], e["status"]) for e in body["events"]]
    assert kinds[0] == ("seen", "available")
    assert ("change", "unavailable") in kinds
    change = next(e for e in body["events"] if e["kind"] == "change")
    assert change["changed_fields"] == ["status"]
    assert change["detail"] == {"status": ["available", "unavailable"]}
    status, whole = await get_json(http, url + "api/history")
    assert status == 200 and set(whole["series"]) == set(ionq_emulator.fleet)


async def test_history_api_takes_a_one_letter_backend(
    served: tuple[str, Monitor, aiohttp.ClientSession],
) -> None:
    url, _, http = served
    status, body = await get_json(http, url + "api/history?backend=x")
    assert (status, body["backend"], body["series"], body["events"]) == (200, "x", {}, [])


_SINCE_READ = "expected a duration back from until (24h, 7d), an ISO-8601 time or Unix seconds"


@pytest.mark.parametrize(
    ("query", "param", "message"),
    [
        ("since=yesterday", "since", f"{_SINCE_READ}, got 'yesterday'"),
        ("until=soon", "until", "expected an ISO-8601 time or Unix seconds, got 'soon'"),
        ("since=2026-11-21T12:00:00Z&until=2026-11-21T11:00:00Z", "since",
         "since must be before until"),
        ("since=2026-11-21T12:00:00Z&until=2026-11-21T12:00:00Z", "since",
         "since must be before until"),
        ("since=1000d", "since", "at most 400 days per query"),
        ("since=1h&since=2h", "since", "since given 2 times"),
        ("backend=" + "x" * 201, "backend", "backend must be 1 to 200 characters"),
        ("backend=", "backend", "backend must be 1 to 200 characters"),
        ("limit=5", "limit", "unknown parameter 'limit' (known: backend, since, until)"),
        ("until=1e20", "until", "time out of range: '1e20'"),
    ],
)  # fmt: skip
async def test_history_api_refuses_bad_parameters_with_a_json_400(
    served: tuple[str, Monitor, aiohttp.ClientSession], query: str, param: str, message: str
) -> None:
    url, _, http = served
    async with http.get(url + "api/history?" + query) as response:
        assert (response.status, response.headers["Cache-Control"]) == (400, "no-store")
        body = await response.json()
    assert body == {"error": "bad_request", "param": param, "message": message}


async def test_healthz_starting_ok_failing_and_ok_again(
    ionq_emulator: Emulator, tmp_path: Path
) -> None:
    names = ["qpu.aria-1", "qpu.forte-1"]
    app = make_app(ionq_emulator, tmp_path, names=names, unhealthy_after=2)
    monitor = app[MONITOR]
    # The first round waits for this answer, so /healthz is asked before any round ends.
    ionq_emulator.inject("/v0.4/backends/qpu.aria-1", status=200, delay=0.5)
    async with running(app) as url, aiohttp.ClientSession() as http:
        status, body = await get_json(http, url + "healthz")
        starting = {"status": "starting", "message": "no polling round has finished yet",
                    "rounds": 0}  # fmt: skip
        assert (status, body) == (503, starting)
        await monitor.wait_rounds(1)
        status, body = await get_json(http, url + "healthz")
        assert (status, body["status"]) == (200, "ok")
        for name in names:
            ionq_emulator.inject(f"/v0.4/backends/{name}", status=503, times=10**6)
        await monitor.wait_for(lambda: monitor.state.all_failed_rounds >= 2)
        status, body = await get_json(http, url + "healthz")
        assert (status, body["status"]) == (503, "failing")
        ionq_emulator.clear_faults()
        await monitor.wait_for(lambda: monitor.state.all_failed_rounds == 0)
        status, body = await get_json(http, url + "healthz")
        assert (status, body["status"]) == (200, "ok")


async def read_event(stream: aiohttp.StreamReader) -> tuple[str, str]:
    """One server-sent event's type and data (comment pings skipped)."""
    kind, data = "message", []
    while True:
        line = (await stream.readline()).decode().rstrip("\r\n")
        if not line:
            if data:
                return kind, "\n".join(data)
            continue
        field, _, value = line.partition(":")
        if field == "event":
            kind = value.strip()
        elif field == "data":
            data.append(value[1:] if value.startswith(" ") else value)


async def test_events_stream_the_fleet_on_every_change(
    served: tuple[str, Monitor, aiohttp.ClientSession], ionq_emulator: Emulator
) -> None:
    url, monitor, http = served
    async with http.get(url + "events") as response, asyncio.timeout(10):
        assert response.headers["Content-Type"] == "text/event-stream"
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        first = []  # the first event's lines, as sent: it alone tells the reconnection delay
        while line := (await response.content.readline()).decode().rstrip("\r\n"):
            first.append(line)
        assert (first[0], first[-1]) == ("event: fleet", f"retry: {SSE_RETRY_MS}")
        data = first[1].removeprefix("data: ")
        assert {b["name"] for b in json.loads(data)["backends"]} == set(ionq_emulator.fleet)
        assert json.loads(data)["interval"] == monitor.interval  # what the page counts down
        assert monitor.hub.clients == 1
        assert monitor.metrics.registry.get_sample_value("ionq_sse_clients") == 1
        ionq_emulator.set_backend("qpu.aria-1", status="unavailable")
        while True:
            _, data = await read_event(response.content)
            rows = {b["name"]: b for b in json.loads(data)["backends"]}
            if rows["qpu.aria-1"]["status"] == "unavailable":
                break
    await monitor.wait_for(lambda: monitor.hub.clients == 0)  # the server saw the client go
    clients = monitor.metrics.registry.get_sample_value
    async with asyncio.timeout(10):  # and the gauge with it, as the stream's handler returns
        await monitor.wait_for(lambda: clients("ionq_sse_clients") == 0)


async def test_stopping_ends_open_streams_at_once(ionq_emulator: Emulator, tmp_path: Path) -> None:
    app = make_app(ionq_emulator, tmp_path)
    async with aiohttp.ClientSession() as http:
        async with running(app) as url:
            await app[MONITOR].wait_rounds(1)
            streams = [await http.get(url + "events") for _ in range(5)]
            for response in streams:
                await read_event(response.content)
            loop = asyncio.get_running_loop()
            started = loop.time()
        assert loop.time() - started < 1.0  # not the server's shutdown timeout
        for response in streams:
            async with asyncio.timeout(5):
                await response.content.read()  # ends cleanly: no ClientPayloadError
            assert response.content.at_eof()
            response.release()
    assert ionq_tasks() == []


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))
        self.inline += [k for k, _ in attrs if k.startswith("on") or k == "style"]


async def test_page_and_static_files_carry_a_strict_policy(
    served: tuple[str, Monitor, aiohttp.ClientSession],
) -> None:
    url, _, http = served
    async with http.get(url) as response:
        assert response.status == 200 and response.content_type == "text/html"
        page = await response.text()
        policy = response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe" not in policy and "http" not in policy  # no inline script, no CDN
    parsed = _Page()
    parsed.feed(page)
    assert parsed.scripts == [{"src": "static/app.js", "defer": None}]
    assert parsed.inline == []
    assert not re.search(r"<script[^>]*>[^<]+</script>", page)
    for name, kind in (("app.js", "text/javascript"), ("app.css", "text/css"),
                       ("favicon.svg", "image/svg+xml")):  # fmt: skip
        async with http.get(url + "static/" + name) as response:
            assert response.status == 200 and response.content_type == kind
            assert response.charset == "utf-8"
            assert response.headers["Cache-Control"] == "no-cache"  # revalidated by its ETag
            etag = response.headers["ETag"]
            assert re.fullmatch(r'"[0-9a-f]{32}"', etag)  # a strong validator, quoted
            assert "Content-Security-Policy" in response.headers
            body = await response.text()
            assert "https://" not in body and "http://" not in body.replace(
                "http://www.w3.org/2000/svg", ""
            )
        async with http.get(url + "static/" + name, headers={"If-None-Match": etag}) as again:
            assert again.status == 304
            assert (again.headers["ETag"], again.headers["Cache-Control"]) == (etag, "no-cache")
    for missing in ("static/nope.js", "static/index.html", "static/..%2F_app.py"):
        async with http.get(url + missing) as response:
            assert response.status == 404
    script = (Path(__file__).parents[1] / "ionq_backends/service/static/app.js").read_text()
    sinks = r"\.(inner|outer)HTML\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function"
    assert not re.search(sinks, script)


async def test_mounts_inside_a_users_app(ionq_emulator: Emulator, tmp_path: Path) -> None:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="their own route")

    parent = web.Application()
    parent.router.add_get("/", hello)
    monitor_app = make_app(ionq_emulator, tmp_path)
    parent.add_subapp("/ionq/", monitor_app)
    monitor = monitor_app[MONITOR]
    async with running(parent) as url, aiohttp.ClientSession() as http:
        await monitor.wait_rounds(1)  # its cleanup_ctx ran with the parent's startup
        async with http.get(url) as response:
            assert await response.text() == "their own route"
            assert "Content-Security-Policy" not in response.headers  # theirs, not ours
        async with http.get(url + "ionq/") as response:
            assert response.status == 200 and "static/app.js" in await response.text()
        status, body = await get_json(http, url + "ionq/api/fleet")
        assert status == 200 and body["rounds"] >= 1
        async with http.get(url + "ionq/static/app.js") as response:
            assert response.status == 200
    assert monitor.client is not None and monitor.client._transport.closed
    assert ionq_tasks() == []


async def test_lifetime_closes_client_and_history_and_leaves_no_task(
    ionq_emulator: Emulator, tmp_path: Path
) -> None:
    app = make_app(ionq_emulator, tmp_path)
    monitor = app[MONITOR]
    async with running(app):
        await monitor.wait_rounds(3)
        assert monitor.history._writer is not None
    assert monitor.client is not None and monitor.client._transport.closed
    assert monitor.history._writer is None and monitor.history._reader is None
    assert not (tmp_path / "history.sqlite3-wal").exists()  # last connection checkpointed
    assert ionq_tasks() == []


async def test_stop_closes_client_and_history_even_after_a_task_of_its_own_failed(
    ionq_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failure is raised, once every task has ended and both are closed: nothing leaks."""
    monitor = make_app(ionq_emulator, tmp_path)[MONITOR]
    failed = asyncio.Event()

    async def prune_fails() -> None:
        failed.set()
        raise LookupError("pruning broke")

    monkeypatch.setattr(monitor, "_prune", prune_fails)
    await monitor.start()
    await failed.wait()
    with pytest.raises(LookupError, match=r"^pruning broke$"):
        await monitor.stop()
    assert monitor.client is not None and monitor.client._transport.closed
    assert monitor.history._writer is None and monitor.history._reader is None
    assert ionq_tasks() == []


async def test_characterizations_fetched_once_then_on_a_new_id(
    ionq_emulator: Emulator, tmp_path: Path
) -> None:
    app = make_app(ionq_emulator, tmp_path, names=["qpu.aria-1"])
    monitor = app[MONITOR]
    view = monitor.state.views["qpu.aria-1"]

    def fetched() -> int:
        return sum("characterizations" in r.path for r in ionq_emulator.requests)

    async with running(app):
        await monitor.wait_for(lambda: view.characterization is not None)
        await monitor.wait_rounds(monitor.state.rounds + 5)
        assert fetched() == 1  # not once per round
        newer = ionq_emulator.fleet["qpu.aria-1"].characterizations[1]["id"]
        ionq_emulator.set_backend("qpu.aria-1", characterization_id=newer)
        await monitor.wait_for(lambda: view.characterization is not None
                               and view.characterization.id == newer)  # fmt: skip
        assert fetched() == 2


def test_create_app_checks_its_arguments(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    with pytest.raises(ValueError, match="interval"):
        create_app(db_path=db, interval=0)
    with pytest.raises(ValueError, match="duration"):
        create_app(db_path=db, retention="30")
    with pytest.raises(TypeError, match="not one string"):
        create_app(db_path=db, names="qpu.aria-1")
    with pytest.raises(ValueError, match="empty"):
        create_app(db_path=db, names=[])
    with pytest.raises(ValueError, match="http"):
        create_app(db_path=db, base_url="http://example.com")  # plain http only on loopback
    assert not db.exists()  # nothing opened before startup


@pytest.mark.parametrize(
    ("given", "refusal"),
    [
        ({"jitter": -0.001}, "jitter must be in [0, 1), got -0.001"),
        ({"jitter": 0.0}, None),
        ({"jitter": 0.999}, None),
        ({"jitter": 1.0}, "jitter must be in [0, 1), got 1.0"),
        ({"sample_seconds": 0}, "sample_seconds must be a positive integer, got 0"),
        ({"sample_seconds": 1}, None),
        ({"sample_seconds": 2}, None),
        ({"sample_seconds": 1.5}, "sample_seconds must be a positive integer, got 1.5"),
        ({"unhealthy_after": 0}, "unhealthy_after must be at least 1, got 0"),
        ({"unhealthy_after": 1}, None),
        ({"unhealthy_after": 2}, None),
        ({"retention": 0}, "retention must be positive, got 0"),
        ({"retention": 0.5}, None),
        ({"retention": 3600}, None),
        ({"retention": "90m"}, None),
        ({"names": "qpu.aria-1"}, "names must be an iterable of names, not one string"),
        ({"names": []}, "names must not be empty (pass None to watch the whole fleet)"),
        (
            {"allowed_hosts": "monitor.example.com"},
            "allowed_hosts must be an iterable of host names, not one string",
        ),
    ],
)
def test_create_app_takes_each_argument_up_to_its_limit_and_refuses_past_it(
    tmp_path: Path, given: dict[str, Any], refusal: str | None
) -> None:
    db = tmp_path / "h.sqlite3"
    if refusal is None:
        assert MONITOR in create_app(db_path=db, **given)
    else:
        with pytest.raises((ValueError, TypeError)) as raised:
            create_app(db_path=db, **given)
        assert str(raised.value) == refusal
    assert not db.exists()  # nothing opened before startup


# What the API lists is data: names and strings no path, terminal, log or database can carry

HOSTILE_NAMES = ["..", "", ".", "\ud800x", "a\nERROR forged\x1b[2J", "x" * 5000, "tab\there"]


async def test_a_hostile_fleet_never_stops_a_round(
    ionq_emulator: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for name in HOSTILE_NAMES:
        ionq_emulator.set_backend(name, status="available")
    ionq_emulator.set_backend("qpu.aria-1", status="avail\udc00able", location="\ud83d")
    app = make_app(ionq_emulator, tmp_path)
    monitor = app[MONITOR]
    with caplog.at_level("INFO", logger="ionq_backends"):
        async with running(app) as url, aiohttp.ClientSession() as http:
            await monitor.wait_rounds(3)
            unpathable = ("..", "", ".", "\ud800x")
            views = monitor.state.views
            await monitor.wait_for(
                lambda: all(views[n].characterization_error is not None for n in unpathable)
            )
            status, health = await get_json(http, url + "healthz")
            assert (status, health["status"]) == (200, "ok")
            status, fleet = await get_json(http, url + "api/fleet")
            rows = {row["name"]: row for row in fleet["backends"]}
            assert status == 200 and set(HOSTILE_NAMES) <= set(rows)
            assert rows["qpu.forte-1"]["status"] == "available"  # the rest of the fleet is read
            async with http.get(url + "metrics") as response:
                assert response.status == 200
                families = {f.name for f in text_string_to_metric_families(await response.text())}
            assert "ionq_backend_up" in families
            status, history = await get_json(http, url + "api/history?backend=qpu.aria-1")
            assert status == 200 and history["series"]["qpu.aria-1"]["t"]  # the round was written
    # Read from the list, each name is a backend; only what needs it in a path (its
    # characterization) fails, and for that name alone.
    for name in unpathable:
        view = monitor.state.views[name]
        assert view.backend is not None and view.error is None
        assert view.characterization_error is not None
        assert "invalid backend name" in view.characterization_error.message
    lines = [record.getMessage() for record in caplog.records]
    assert lines and all("\n" not in line and "\x1b" not in line for line in lines)
    assert all(line.encode() for line in lines)  # no lone surrogate left in a log line


# DNS rebinding: only the Host names the monitor serves


@pytest.mark.parametrize(
    ("host", "status"),
    [("localhost", 200), ("127.0.0.1:9", 200), ("[::1]:8080", 200), ("app.localhost", 200),
     ("monitor.example.com", 200), ("MONITOR.example.com.", 200),
     ("evil.example", 421), ("127.0.0.1.evil.example", 421), ("", 421), ("bad host", 421)],
)  # fmt: skip
async def test_only_the_hosts_it_serves_are_answered(
    ionq_emulator: Emulator, tmp_path: Path, host: str, status: int
) -> None:
    app = make_app(ionq_emulator, tmp_path, allowed_hosts=["monitor.example.com"])
    async with running(app) as url, aiohttp.ClientSession() as http:
        for path in ("api/fleet", "metrics", "", "healthz"):
            async with http.get(url + path, headers={"Host": host}) as response:
                assert response.status in ((200, 503) if status == 200 else (421,)), path
                if status == 421:
                    body = await response.json()
                    assert body["error"] == "misdirected" and "--allowed-host" in body["message"]


# A fleet that changes: a backend that leaves is forgotten, its past kept


async def test_a_backend_that_leaves_the_fleet_is_dropped_and_its_history_kept(
    ionq_emulator: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ionq_emulator.set_backend("qpu.leaving", status="available", qubits=4)
    app = make_app(ionq_emulator, tmp_path)
    monitor = app[MONITOR]
    caplog.set_level(logging.INFO, logger="ionq_backends.service")
    async with running(app) as url, aiohttp.ClientSession() as http:
        views = monitor.state.views
        await monitor.wait_for(lambda: "qpu.leaving" in views and views["qpu.leaving"].backend)
        ionq_emulator.remove_backend("qpu.leaving")  # the API lists it no more
        await monitor.wait_for(lambda: "qpu.leaving" not in monitor.state.views)
        asked = len(ionq_emulator.requests)
        await monitor.wait_rounds(monitor.state.rounds + 3)
        later = list(ionq_emulator.requests)[asked:]
        assert later and not any(r.path.endswith("/qpu.leaving") for r in later)
        async with http.get(url + "metrics") as response:
            text = await response.text()
        assert "qpu.leaving" not in text  # no gauge, no poll-error counter left behind
        _, fleet = await get_json(http, url + "api/fleet")
        assert "qpu.leaving" not in {row["name"] for row in fleet["backends"]}
        await monitor.history.flush()
        _, past = await get_json(http, url + "api/history?backend=qpu.leaving")
    assert past["series"]["qpu.leaving"]["t"]  # the history keeps its past
    assert [e["kind"] for e in past["events"]][-1] == "gone"
    said = f"qpu.leaving: gone (not listed for {GONE_AFTER_ROUNDS} rounds)"
    assert caplog.messages.count(said) == 1


async def test_the_monitor_logs_a_failing_backend_once_per_new_error_and_its_recovery(
    ionq_emulator: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(ionq_emulator, tmp_path, names=["qpu.aria-1"])
    monitor = app[MONITOR]
    caplog.set_level(logging.INFO, logger="ionq_backends.service")
    async with running(app):
        await monitor.wait_rounds(1)
        ionq_emulator.inject("/v0.4/backends/qpu.aria-1", status=503, times=10**6)
        view = monitor.state.views["qpu.aria-1"]
        await monitor.wait_for(lambda: view.failed_rounds >= 3)
        ionq_emulator.clear_faults()
        await monitor.wait_for(lambda: view.failed_rounds == 0)
    records = [(r.levelname, r.getMessage()) for r in caplog.records
               if r.getMessage().startswith("qpu.aria-1: ")]  # fmt: skip
    assert len(records) == 2  # the same error each round is said once
    (level, first), recovered = records
    assert level == "WARNING" and first.startswith("qpu.aria-1: 503 ")
    assert recovered == ("INFO", "qpu.aria-1: recovered")


async def test_the_apps_own_client_uses_the_key_version_and_timeout_given(tmp_path: Path) -> None:
    async with Emulator(api_key="k-monitor") as emulator:  # refuses a request without the key
        app = create_app(api_key="k-monitor", base_url=emulator.base_url, api_version="v0.3",
                         timeout=7.5, interval=0.05, db_path=tmp_path / "h.sqlite3",
                         names=["qpu.aria-1"])  # fmt: skip
        monitor = app[MONITOR]
        async with running(app):
            await monitor.wait_rounds(1)
            assert monitor.client is not None and monitor.client.api_version == "v0.3"
            view = monitor.state.views["qpu.aria-1"]
            assert view.error is None and view.backend is not None  # the key was sent
            assert {r.path.split("/")[1] for r in emulator.requests} == {"v0.3"}
            # Stale after 3 intervals plus the timeout: what the stalled alert waits for.
            stale_after = monitor.metrics.registry.get_sample_value("ionq_poll_stale_after_seconds")
            assert stale_after == pytest.approx(3 * 0.05 + 7.5)


async def test_the_monitor_prunes_its_history_past_the_retention_and_says_so(
    ionq_emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ionq_backends.service")
    old = int(time.time()) - 10 * 86400
    monkeypatch.setattr(_monitor, "PRUNE_EVERY", 0.01)
    said: list[str] = []
    pruned = asyncio.Event()

    class Tell(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("history: pruned "):
                said.append(record.getMessage())
                pruned.set()

    tell = Tell()
    logging.getLogger("ionq_backends.service").addHandler(tell)
    try:
        app = make_app(ionq_emulator, tmp_path, retention="1d")
        async with running(app):
            names = {task.get_name() for task in asyncio.all_tasks()}
            assert {"ionq-serve-poll", "ionq-serve-characterizations",
                    "ionq-serve-prune"} <= names  # fmt: skip
            db = HistoryDB(tmp_path / "history.sqlite3")  # a row past the retention, written
            db.record([SampleRow("qpu.aria-1", old - old % 60, 1, 1, 60.0)], [])  # after start
            db.close()
            async with asyncio.timeout(10):
                await pruned.wait()
    finally:
        logging.getLogger("ionq_backends.service").removeHandler(tell)
    assert said[0] == "history: pruned 1 rows older than the retention"


async def test_a_characterization_fetch_cut_short_is_not_left_in_flight(
    ionq_emulator: Emulator, tmp_path: Path
) -> None:
    linked = ionq_emulator.fleet["qpu.forte-1"].characterization_id()  # what the monitor asks
    path = f"/v0.4/backends/qpu.forte-1/characterizations/{linked}"
    ionq_emulator.inject(path, status=200, delay=60)  # it hangs
    app = make_app(ionq_emulator, tmp_path, names=["qpu.forte-1"])
    monitor = app[MONITOR]
    forte = monitor.state.views["qpu.forte-1"]
    async with running(app):
        await monitor.wait_for(lambda: forte.characterization_pending)
    # Stopped while its fetch hung: not "in flight" for ever, and its error says why.
    assert not forte.characterization_pending and forte.characterization_error is not None
    assert forte.characterization_error.message == "the characterization fetch did not finish"


async def test_a_characterization_that_fails_is_said_with_its_backend(
    ionq_emulator: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    linked = ionq_emulator.fleet["qpu.aria-1"].characterization_id()  # what the monitor asks
    path = f"/v0.4/backends/qpu.aria-1/characterizations/{linked}"
    ionq_emulator.inject(path, status=500, times=10)
    app = make_app(ionq_emulator, tmp_path, names=["qpu.aria-1"])
    monitor = app[MONITOR]
    aria = monitor.state.views["qpu.aria-1"]
    async with running(app):
        await monitor.wait_for(lambda: aria.characterization_error is not None)
    said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(m.startswith("qpu.aria-1: characterization: 500 ") for m in said), said
