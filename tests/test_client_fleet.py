"""latest_characterizations() as one bounded fan-out, and the fleet views over the emulator."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import ionq_backends as iq
from ionq_backends import (
    BackendName,
    Characterization,
    CharacterizationsSnapshot,
    CircuitShape,
    IonQClient,
    NotFoundError,
    ServerError,
)
from ionq_backends.emulator import Emulator

from .conftest import Hang, ionq_tasks, serve

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(now=NOW) as emu:
        yield emu


def is_characterizations_path(path: str) -> bool:
    return "characterizations" in path


@pytest.mark.parametrize("version", ["v0.3", "v0.4"])
async def test_latest_characterizations_of_the_fleet(emulator: Emulator, version: str) -> None:
    names = [*emulator.fleet, "qpu.gone"]
    async with IonQClient(base_url=emulator.base_url, api_version=version) as client:
        before = datetime.now(UTC)
        found = await client.latest_characterizations(names)
        after = datetime.now(UTC)
    assert isinstance(found, CharacterizationsSnapshot)
    for name, machine in emulator.fleet.items():
        if machine.characterizations:
            got = found[name]
            assert isinstance(got, Characterization)
            assert got.id == machine.characterizations[0]["id"]
            assert got.age(NOW) == timedelta(hours=12)  # the newest is from midnight
    assert found["simulator"] is None
    if version == "v0.4":
        assert isinstance(found.errors["qpu.gone"], NotFoundError)
        assert "qpu.gone" not in found
    else:
        assert found["qpu.gone"] is None  # v0.3 says "none" with a 404 on `current`
    assert found.fetched_at is not None and found.fetched_at.tzinfo is UTC
    assert before <= found.fetched_at <= after  # when this call fetched, not some other time
    asked = [r.path for r in emulator.requests if is_characterizations_path(r.path)]
    assert len(asked) == len(names)  # one request per backend, nothing else
    assert len(found) + len(found.errors) == len(names)


async def test_default_names_are_the_whole_fleet(emulator: Emulator) -> None:
    emulator.remove_backend("qpu.aria-2")  # a known name the list leaves out is still asked for
    async with IonQClient(base_url=emulator.base_url) as client:
        found = await client.latest_characterizations()
    assert list(found) == list(emulator.fleet)
    assert set(BackendName) <= set(found) | set(found.errors)
    assert found["simulator"] is None  # listed, never characterized
    assert list(found.errors) == ["qpu.aria-2"]


async def test_one_failure_is_that_backends_own(emulator: Emulator) -> None:
    emulator.inject("/v0.4/backends/qpu.forte-1/characterizations", status=500)
    async with IonQClient(base_url=emulator.base_url, max_retries=0) as client:
        found = await client.latest_characterizations(["qpu.aria-1", "qpu.forte-1"])
    assert isinstance(found.errors["qpu.forte-1"], ServerError)
    assert isinstance(found["qpu.aria-1"], Characterization)
    with pytest.raises(ExceptionGroup, match=r"1 of 2 characterizations failed: qpu\.forte-1"):
        found.raise_for_errors()


def page_json(name: str) -> dict[str, Any]:
    return {"characterizations": [{"id": f"id-{name}", "backend": name,
                                   "date": "2026-11-21T00:00:00Z"}], "pages": 0}  # fmt: skip


async def test_requests_overlap_in_time() -> None:
    """Every handler waits until all are in flight: a sequential loop would never finish."""
    names = [f"b{i}" for i in range(6)]
    all_in = asyncio.Barrier(len(names))

    async def handler(request: web.Request) -> web.Response:
        await all_in.wait()
        return web.json_response(page_json(request.match_info["name"]))

    async with serve({"/v0.4/backends/{name}/characterizations": handler}) as base:
        async with IonQClient(base_url=base) as client:
            async with asyncio.timeout(10):
                found = await client.latest_characterizations(names)
    assert {name: c.id for name, c in found.items() if c} == {n: f"id-{n}" for n in names}


async def test_the_clients_bound_holds_across_methods() -> None:
    """max_concurrency=3 bounds this fan-out and get_backends() running beside it, together."""
    in_flight = peak = 0
    full = asyncio.Event()

    async def hold() -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight == 3:
            full.set()
        await full.wait()
        in_flight -= 1

    async def characterizations(request: web.Request) -> web.Response:
        await hold()
        return web.json_response(page_json(request.match_info["name"]))

    async def one_backend(request: web.Request) -> web.Response:
        await hold()
        return web.json_response({"backend": request.match_info["name"], "status": "available"})

    routes = {"/v0.4/backends/{name}/characterizations": characterizations,
              "/v0.4/backends/{name}": one_backend}  # fmt: skip
    async with serve(routes) as base:
        async with IonQClient(base_url=base, max_concurrency=3) as client:
            async with asyncio.timeout(10):
                found, snapshot = await asyncio.gather(
                    client.latest_characterizations([f"c{i}" for i in range(8)]),
                    client.get_backends([f"b{i}" for i in range(4)]),
                )
    assert len(found) == 8 and len(snapshot) == 4
    assert peak == 3


async def test_cancelling_leaves_no_task_behind() -> None:
    hang = Hang()
    routes = {"/v0.4/backends/{name}/characterizations": hang.handle}
    async with serve(routes, handler_cancellation=True) as base:
        async with IonQClient(base_url=base) as client:
            task = asyncio.create_task(client.latest_characterizations(["a", "b", "c"]))
            async with asyncio.timeout(10):
                await hang.arrived.wait()
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            assert ionq_tasks() == []


async def test_a_closed_client_refuses_before_any_request() -> None:
    client = IonQClient(base_url="http://127.0.0.1:9")
    await client.close()
    with pytest.raises(RuntimeError, match="closed"):
        await client.latest_characterizations(["qpu.aria-1"])
    with pytest.raises(TypeError, match="one string"):
        await IonQClient(base_url="http://127.0.0.1:9").latest_characterizations("qpu.aria-1")


@pytest.mark.parametrize("version", ["v0.3", "v0.4"])
async def test_ranking_the_emulators_fleet(emulator: Emulator, version: str) -> None:
    circuit = CircuitShape(qubits=30, one_qubit_gates=300, two_qubit_gates=200)
    async with IonQClient(base_url=emulator.base_url, api_version=version) as client:
        fleet = await client.list_backends()
        fit = [b.name for b in iq.select(fleet, min_qubits=circuit.qubits)]
        found = await client.latest_characterizations(fit)
    assert sorted(fit) == ["qpu.forte-1", "qpu.forte-enterprise-1", "qpu.tempo-1"]
    ranked = iq.rank_for_circuit(fleet, found, circuit, now=NOW)
    assert [(r.rank, r.name) for r in ranked[:3]] == [
        (1, "qpu.tempo-1"),  # the best 2q fidelity, despite a day's queue
        (2, "qpu.forte-enterprise-1"),  # forte's fidelity, the shorter queue
        (3, "qpu.forte-1"),
    ]
    assert ranked[0].calibration_age == timedelta(hours=12)
    reasons = {r.name: r.excluded for r in ranked[3:]}
    assert reasons["qpu.aria-1"] == "25 qubits < 30"
    assert reasons["qpu.harmony"] == "status " + ("unavailable" if version == "v0.3" else "retired")
    assert reasons["qpu.forte-enterprise-2"] == "degraded"
    by_queue = iq.rank_for_circuit(fleet, found, circuit, now=NOW, order_by="queue_time")
    assert [r.name for r in by_queue[:3]] == [
        "qpu.forte-enterprise-1", "qpu.forte-1", "qpu.tempo-1",
    ]  # fmt: skip
    assert iq.least_busy(fleet, min_qubits=30).name == "qpu.forte-enterprise-1"  # type: ignore[union-attr]


# The README's "Choosing a backend" and its emulator test, run as written.


def readme_blocks(after: str) -> list[str]:
    text = README.read_text()
    section = text[text.index(after) :]
    return re.findall(r"```python\n(.*?)```", section, re.S)


async def instant(_: float) -> None:
    await asyncio.sleep(0)


async def test_readme_router_and_its_test(ionq_emulator: Emulator) -> None:
    namespace: dict[str, Any] = {}
    exec(readme_blocks("## Choosing a backend")[0], namespace)
    async with IonQClient(base_url=ionq_emulator.base_url) as client:
        assert await namespace["pick_backend"](client) == "qpu.forte-enterprise-1"
        assert await namespace["pick_backend"](client, qubits=40) == "qpu.tempo-1"  # 100 qubits
        assert await namespace["pick_backend"](client, qubits=101) is None
        circuit = CircuitShape(qubits=30, one_qubit_gates=400, two_qubit_gates=200)
        assert await namespace["route"](client, circuit) == "qpu.tempo-1"  # the best 2q fidelity
