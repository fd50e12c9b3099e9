"""Characterizations against the live API's quirks (aioresponses: exact payloads and queries)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import attrs
import pytest
from aioresponses import aioresponses
from yarl import URL

from ionq_backends import BackendName, IonQClient, ResponseValidationError, ServerError
from ionq_backends.emulator import Emulator

BASE = "https://api.ionq.co"
V4_LIST = f"{BASE}/v0.4/backends/qpu.aria-1/characterizations"
V3_LIST = f"{BASE}/v0.3/characterizations/backends/qpu.aria-1"


def item(n: int, version: str = "v0.4") -> dict[str, Any]:
    stat = "mean" if version == "v0.3" else "median"
    return {
        "id": f"id-{n}",
        "backend": "qpu.aria-1",
        "date": 1750032000 - n * 86400
        if version == "v0.3"
        else f"2025-06-{16 - n % 15:02d}T00:00:00Z",
        "qubits": 25,
        "fidelity": {"1q": {stat: 0.9998, "stderr": None}, "spam": {stat: 0.99, "stderr": None}},
        "timing": {"1q": 1e-05, "2q": 0.00013, "readout": 0.0003, "reset": 2e-05},
    }


@pytest.fixture
def mocked() -> AsyncIterator[aioresponses]:
    with aioresponses() as mock:
        yield mock


@pytest.fixture
async def v4(fake_sleep: Callable[[float], Awaitable[None]]) -> AsyncIterator[IonQClient]:
    async with IonQClient(sleep=fake_sleep) as client:
        yield client


@pytest.fixture
async def v3(fake_sleep: Callable[[float], Awaitable[None]]) -> AsyncIterator[IonQClient]:
    async with IonQClient(api_version="v0.3", sleep=fake_sleep) as client:
        yield client


def queries(mocked: aioresponses) -> list[dict[str, str]]:
    return [
        dict(URL(str(url)).query) for (_m, url), calls in mocked.requests.items() for _ in calls
    ]


async def test_paging_ignores_a_lying_pages_field(mocked: aioresponses, v4: IonQClient) -> None:
    # `pages` says 0 remaining on a full page, then 7 remaining on the last, short page.
    mocked.get(
        f"{V4_LIST}?limit=10&page=1",
        payload={"characterizations": [item(n) for n in range(10)], "pages": 0},
    )
    mocked.get(
        f"{V4_LIST}?limit=10&page=2",
        payload={"characterizations": [item(n) for n in range(10, 20)]},
    )
    mocked.get(
        f"{V4_LIST}?limit=10&page=3",
        payload={"characterizations": [item(n) for n in range(20, 23)], "pages": 7},
    )
    items = [c.id async for c in v4.iter_characterizations("qpu.aria-1")]
    assert items == [f"id-{n}" for n in range(23)]
    assert len(queries(mocked)) == 3


async def test_exact_multiple_ends_on_an_empty_page(mocked: aioresponses, v4: IonQClient) -> None:
    mocked.get(
        f"{V4_LIST}?limit=5&page=1",
        payload={"characterizations": [item(n) for n in range(5)], "pages": 1},
    )
    mocked.get(f"{V4_LIST}?limit=5&page=2", payload={"characterizations": [], "pages": 0})
    items = [c async for c in v4.iter_characterizations("qpu.aria-1", page_size=5)]
    assert len(items) == 5


async def test_null_page_ends_iteration(mocked: aioresponses, v4: IonQClient) -> None:
    mocked.get(f"{V4_LIST}?limit=10&page=1", payload={"characterizations": None, "pages": 0})
    assert [c async for c in v4.iter_characterizations("qpu.aria-1")] == []


async def test_a_server_that_ignores_page_cannot_loop_forever(
    mocked: aioresponses, v4: IonQClient
) -> None:
    same = {"characterizations": [item(n) for n in range(2)], "pages": 99}
    mocked.get(f"{V4_LIST}?limit=2&page=1", payload=same)
    mocked.get(f"{V4_LIST}?limit=2&page=2", payload=same)
    seen = []
    with pytest.raises(ResponseValidationError) as raised:
        async for c in v4.iter_characterizations("qpu.aria-1", page_size=2):
            seen.append(c.id)
    assert seen == ["id-0", "id-1"]
    assert raised.value.problems == ((".characterizations", "page 2 repeats page 1"),)


async def test_an_error_mid_iteration_keeps_what_was_yielded(
    mocked: aioresponses, v4: IonQClient
) -> None:
    mocked.get(f"{V4_LIST}?limit=2&page=1", payload={"characterizations": [item(0), item(1)]})
    for _ in range(3):
        mocked.get(f"{V4_LIST}?limit=2&page=2", status=500, body="")
    seen = []
    with pytest.raises(ServerError):
        async for c in v4.iter_characterizations("qpu.aria-1", page_size=2):
            seen.append(c.id)
    assert seen == ["id-0", "id-1"]


async def test_v04_dates_are_iso_and_v03_are_epoch_ms(
    mocked: aioresponses, v4: IonQClient, v3: IonQClient
) -> None:
    mocked.get(f"{V4_LIST}?limit=10&start=2025-06-01&end=2025-06-16T12:00:00Z&page=1",
               payload={"characterizations": []})  # fmt: skip
    mocked.get(f"{V3_LIST}?limit=10&start=1748736000000&end=1750075200000&page=1",
               payload={"characterizations": []})  # fmt: skip
    end = datetime(2025, 6, 16, 12, 0, tzinfo=UTC)
    assert [
        c async for c in v4.iter_characterizations("qpu.aria-1", start=date(2025, 6, 1), end=end)
    ] == []
    assert [
        c async for c in v3.iter_characterizations("qpu.aria-1", start=date(2025, 6, 1), end=end)
    ] == []


async def test_v04_latest_is_the_first_of_limit_1(mocked: aioresponses, v4: IonQClient) -> None:
    mocked.get(f"{V4_LIST}?limit=1&page=1", payload={"characterizations": [item(0)], "pages": 22})
    latest = await v4.latest_characterization("qpu.aria-1")
    assert latest is not None and latest.id == "id-0"
    assert latest.timing.one_qubit == 1e-05
    assert latest.fidelity["1q"].statistic == "median"


@pytest.mark.parametrize(
    "payload", [{"characterizations": None, "pages": 0}, {"characterizations": []}]
)
async def test_v04_latest_none(mocked: aioresponses, v4: IonQClient, payload: Any) -> None:
    mocked.get(f"{V4_LIST}?limit=1&page=1", payload=payload)
    assert await v4.latest_characterization("qpu.aria-1") is None


NOT_FOUND = '{"error": "Not Found", "message": "none", "statusCode": 404}'


@pytest.mark.parametrize(("status", "body"), [(404, NOT_FOUND),
                                              (200, "null"), (200, "[]")])  # fmt: skip
async def test_v03_current_none(
    mocked: aioresponses, v3: IonQClient, status: int, body: str
) -> None:
    mocked.get(f"{V3_LIST}/current", status=status, body=body)
    assert await v3.latest_characterization("qpu.aria-1") is None


async def test_v03_current_and_by_id(mocked: aioresponses, v3: IonQClient) -> None:
    mocked.get(f"{V3_LIST}/current", payload=item(0, "v0.3"))
    mocked.get(f"{BASE}/v0.3/characterizations/id-3", payload=item(3, "v0.3"))
    latest = await v3.latest_characterization("qpu.aria-1")
    assert latest is not None and latest.fidelity["1q"].statistic == "mean"
    assert latest.date == datetime.fromtimestamp(1750032000, UTC)
    assert (await v3.get_characterization("qpu.aria-1", "id-3")).id == "id-3"


async def test_v03_paths_are_never_sent_to_v04(mocked: aioresponses, v4: IonQClient) -> None:
    mocked.get(f"{BASE}/v0.4/backends/qpu.aria-1/characterizations/id-3", payload=item(3))
    assert (await v4.get_characterization("qpu.aria-1", "id-3")).id == "id-3"
    assert [str(url) for _m, url in mocked.requests] == [
        f"{BASE}/v0.4/backends/qpu.aria-1/characterizations/id-3"
    ]


async def test_malformed_characterization_names_its_path(
    mocked: aioresponses, v4: IonQClient
) -> None:
    bad = {**item(0), "timing": {"t1": "long"}, "connectivity": [[0]]}
    mocked.get(f"{V4_LIST}?limit=1&page=1", payload={"characterizations": [bad]})
    with pytest.raises(ResponseValidationError) as info:
        await v4.latest_characterization("qpu.aria-1")
    # A bad timing costs only itself (kept in `extra`); connectivity, an array, fails the item.
    assert info.value.errors == (
        "$.characterizations[0].connectivity[0]: expected pair of qubit indices, got [0]",
    )


@pytest.mark.parametrize(
    ("call", "refusal"),
    [
        (lambda c: c.get_characterization("..", "c-1"), "invalid backend name '..'"),
        (lambda c: c.get_characterization("qpu.a", "."), "invalid characterization id '.'"),
        (lambda c: c.latest_characterization(""), "invalid backend name ''"),
        (lambda c: c.iter_characterizations(".."), "invalid backend name '..'"),
        (lambda c: c.get_backend(".."), "invalid backend name '..'"),
    ],
)
async def test_a_name_or_id_no_path_can_carry_is_refused_before_any_request(
    call: Callable[[IonQClient], Any], refusal: str
) -> None:
    async with IonQClient(base_url="http://127.0.0.1:1") as client:  # nothing listens there
        with pytest.raises(ValueError) as raised:  # noqa: PT011 (the whole message is checked)
            outcome = call(client)
            if hasattr(outcome, "__await__"):
                await outcome
    assert str(raised.value) == refusal


async def test_characterization_of_follows_the_backends_link_or_asks_for_the_latest(
    ionq_emulator: Emulator,
) -> None:
    async with IonQClient(base_url=ionq_emulator.base_url) as client:
        forte = await client.get_backend("qpu.forte-1")
        linked = await client.characterization_of(forte)
        latest = await client.characterization_of("qpu.forte-1")
        unlinked = attrs.evolve(forte, characterization_id=None)
        assert await client.characterization_of(unlinked) == latest  # no link: the latest
    asked = [(r.path, r.query) for r in list(ionq_emulator.requests)[-3:]]
    latest_page = ("/v0.4/backends/qpu.forte-1/characterizations", {"limit": "1", "page": "1"})
    assert asked == [
        (f"/v0.4/backends/qpu.forte-1/characterizations/{forte.characterization_id}", {}),
        latest_page,
        latest_page,
    ]
    assert linked is not None and linked.id == forte.characterization_id
    assert latest is not None and latest.backend == "qpu.forte-1"


async def test_without_the_list_the_latest_characterizations_are_the_known_names(
    ionq_emulator: Emulator,
) -> None:
    ionq_emulator.inject("/v0.4/backends", status=503, times=10)
    async with IonQClient(base_url=ionq_emulator.base_url, max_retries=0) as client:
        found = await client.latest_characterizations()
    assert set(found) == set(BackendName) and not found.errors
