"""The SDK against the emulator, in both API versions, for every public method."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import attrs
import pytest

from ionq_backends import (
    Backend,
    BackendName,
    BackendStatus,
    Characterization,
    IonQClient,
    NotFoundError,
)
from ionq_backends._wire import PROFILES
from ionq_backends.emulator import Emulator

# The contract every registered API version keeps: a new profile runs all of these.
pytestmark = pytest.mark.parametrize("version", sorted(PROFILES))


@pytest.fixture
async def client(ionq_emulator: Emulator, version: str) -> AsyncIterator[IonQClient]:
    async with IonQClient("key", base_url=ionq_emulator.base_url, api_version=version) as c:
        yield c


async def test_list_backends(client: IonQClient, version: str) -> None:
    backends = await client.list_backends()
    assert len(backends) >= 9
    aria = next(b for b in backends if b.name == "qpu.aria-1")
    assert aria.api_version == version
    assert aria.status is BackendStatus.AVAILABLE
    assert aria.qubits == 25
    assert aria.queue_time == timedelta(milliseconds=1_181_215)
    assert aria.last_updated is not None and aria.last_updated.tzinfo is UTC
    assert aria.characterization_id
    harmony = next(b for b in backends if b.name == "qpu.harmony")
    assert harmony.status == ("unavailable" if version == "v0.3" else "retired")


async def test_get_backend(client: IonQClient, version: str) -> None:
    backend = await client.get_backend("qpu.forte-1")
    assert backend.name == "qpu.forte-1"
    assert backend.qubits == 36
    if version == "v0.4":
        assert backend.location == "Seattle, WA, USA"
        assert backend.supported_native_gates == ("gpi", "gpi2", "zz")
    else:
        assert backend.has_access is True
    with pytest.raises(NotFoundError):
        await client.get_backend("qpu.nope-9")


async def test_get_backends_default_and_named(client: IonQClient, ionq_emulator: Emulator) -> None:
    snapshot = await client.get_backends()
    # The whole fleet: every listed backend, then each BackendName the list left out.
    assert list(snapshot) == list(ionq_emulator.fleet)
    assert set(BackendName) <= set(snapshot)
    assert not snapshot.errors
    ionq_emulator.remove_backend("qpu.aria-2")
    without = await client.get_backends()
    assert "qpu.aria-2" not in without and isinstance(without.errors["qpu.aria-2"], NotFoundError)
    ionq_emulator.set_backend("qpu.drifted", status="being-upgraded", qubits=12, surprise={"a": 1})
    named = await client.get_backends(["qpu.tempo-1", "qpu.drifted", "qpu.gone"])
    assert named["qpu.tempo-1"].qubits == 100
    assert named["qpu.drifted"].status == "being-upgraded"
    assert named["qpu.drifted"].extra["surprise"] == {"a": 1}
    assert isinstance(named.errors["qpu.gone"], NotFoundError)


async def test_latest_characterization(client: IonQClient, ionq_emulator: Emulator) -> None:
    latest = await client.latest_characterization("qpu.aria-1")
    assert isinstance(latest, Characterization)
    expected = ionq_emulator.fleet["qpu.aria-1"].characterizations[0]
    assert latest.id == expected["id"]
    assert latest.date == expected["date"]
    assert latest.timing.reset == 2e-05
    assert latest.fidelity["spam"].stderr is None
    assert await client.latest_characterization("simulator") is None


async def test_get_characterization_and_characterization_of(client: IonQClient) -> None:
    backend = await client.get_backend("qpu.forte-enterprise-1")
    linked = await client.characterization_of(backend)
    assert linked is not None and linked.id == backend.characterization_id
    again = await client.get_characterization("qpu.forte-enterprise-1", linked.id)
    assert again == linked
    assert len(again.connectivity) == 630
    by_name = await client.characterization_of("qpu.forte-enterprise-1")
    assert by_name == linked


async def test_characterization_of_a_backend_with_no_link_is_its_latest(
    client: IonQClient, ionq_emulator: Emulator
) -> None:
    unlinked = attrs.evolve(await client.get_backend("qpu.aria-1"), characterization_id=None)
    latest = await client.characterization_of(unlinked)
    assert latest is not None
    assert latest.id == ionq_emulator.fleet["qpu.aria-1"].characterizations[0]["id"]
    assert latest == await client.latest_characterization("qpu.aria-1")
    simulator = await client.get_backend("simulator")
    assert simulator.characterization_id is None
    assert await client.characterization_of(simulator) is None  # no link and none at all


async def test_iter_characterizations_all_pages(
    client: IonQClient, ionq_emulator: Emulator
) -> None:
    items = [c async for c in client.iter_characterizations("qpu.aria-1", page_size=10)]
    expected = [i["id"] for i in ionq_emulator.fleet["qpu.aria-1"].characterizations]
    assert [c.id for c in items] == expected
    assert len(items) == 23
    pages = [r for r in ionq_emulator.requests if "characterizations" in r.path]
    assert len(pages) == 3  # 10 + 10 + 3: the short page ends it


async def test_iter_characterizations_window(client: IonQClient, ionq_emulator: Emulator) -> None:
    items = ionq_emulator.fleet["qpu.aria-1"].characterizations
    start: date = items[5]["date"].date()
    end: datetime = items[1]["date"]
    window = [c async for c in client.iter_characterizations("qpu.aria-1", start=start, end=end)]
    assert [c.id for c in window] == [i["id"] for i in items[2:6]]


async def test_iter_characterizations_empty(client: IonQClient) -> None:
    assert [c async for c in client.iter_characterizations("simulator")] == []


async def test_page_size_is_validated_before_any_request(
    client: IonQClient, ionq_emulator: Emulator
) -> None:
    for size in (0, 11):
        with pytest.raises(ValueError, match="page_size"):
            client.iter_characterizations("qpu.aria-1", page_size=size)
    assert len(ionq_emulator.requests) == 0


async def test_watch_first_round(client: IonQClient) -> None:
    stream = client.watch(["qpu.aria-1", "qpu.gone"], interval=0.01)
    first = [await anext(stream), await anext(stream)]
    await stream.aclose()
    by_name = {e.name: e for e in first}
    assert isinstance(by_name["qpu.aria-1"].current, Backend)
    assert by_name["qpu.aria-1"].previous is None
    assert isinstance(by_name["qpu.gone"].error, NotFoundError)
