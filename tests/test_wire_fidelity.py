"""What the live API and its users' captures really send, in both versions."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ionq_backends import (
    AuthenticationError,
    Backend,
    BackendStatus,
    Characterization,
    IonQClient,
    make_converter,
)
from ionq_backends._wire import PROFILES
from ionq_backends.emulator import Emulator

from .conftest import SECRET

CAPTURES = Path(__file__).parent / "captures"
VERSIONS = sorted(PROFILES)


def capture(name: str) -> Any:
    return json.loads((CAPTURES / name).read_text())


@pytest.mark.parametrize("version", VERSIONS)
def test_epoch_seconds_and_milliseconds_mix_in_one_list(version: str) -> None:
    backends = make_converter(version).structure(
        capture("v03_list_2022_mixed_units.json"), list[Backend]
    )
    assert [b.last_updated for b in backends] == [
        datetime(2022, 3, 29, 12, 39, 45, tzinfo=UTC),
        datetime(2022, 3, 21, 11, 51, 13, 555000, tzinfo=UTC),
        datetime(2022, 3, 29, 12, 39, 45, tzinfo=UTC),
    ]
    assert backends[1].characterization_id == "ab9ff65b-693f-417f-a07b-927b3e48f6e6"


@pytest.mark.parametrize("version", VERSIONS)
def test_qbraid_fixture_shares_one_last_updated(version: str) -> None:
    backends = make_converter(version).structure(
        capture("v03_list_qbraid_2024.json"), list[Backend]
    )
    assert {b.last_updated for b in backends} == {datetime(2024, 6, 1, 14, 56, 30, tzinfo=UTC)}
    forte = backends[3]
    assert (forte.name, forte.qubits, forte.has_access) == ("qpu.forte-1", 30, False)
    assert forte.queue_time == timedelta(milliseconds=1533413000)
    assert backends[-1].noise_models == ("aria-1", "harmony", "ideal")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("strict", [False, True])
def test_hybrid_list_reads_in_either_version_and_mode(version: str, strict: bool) -> None:
    backends = make_converter(version, strict=strict).structure(
        capture("v04_list_hybrid_2026.json"), list[Backend]
    )
    assert [b.characterization_id for b in backends] == [
        "4e8623ac-d592-4763-a3b6-ad8de775b735",
        "0b8a2c1e-3f7d-4c55-9e21-6f1d2c2e6c54",
    ]
    assert [b.last_updated for b in backends] == [datetime(2026, 2, 18, 16, tzinfo=UTC)] * 2
    assert all("characterization_id" not in b.extra for b in backends)


@pytest.mark.parametrize("version", VERSIONS)
def test_iso_dates_and_v04_keys_read_in_either_version(version: str) -> None:
    backend = make_converter(version).structure(capture("v04_backend_seed.json"), Backend)
    assert backend.last_updated == datetime(2025, 6, 16, tzinfo=UTC)
    assert backend.characterization_id == "617a1f8b-59d4-435d-aa33-695433d7155e"
    assert backend.degraded is True


@pytest.mark.parametrize("version", VERSIONS)
def test_the_id_wins_when_both_link_keys_are_present(version: str) -> None:
    data = {"backend": "a", "status": "available", "characterization_url": "/characterizations/u",
            "characterization_id": "i"}  # fmt: skip
    assert make_converter(version).structure(data, Backend).characterization_id == "i"


def test_zero_timings_are_kept_as_zero_not_missing() -> None:
    item = make_converter("v0.4").structure(
        capture("v04_characterization_zero_timing.json"), Characterization
    )
    timing = item.timing
    values = (timing.t1, timing.t2, timing.one_qubit, timing.two_qubit, timing.readout)
    assert values == (0.0,) * 5
    assert timing.reset == 0.0
    assert item.fidelity["2q"].value == 0.9863
    assert item.fidelity["spam"].stderr is None


@pytest.mark.parametrize("version", VERSIONS)
def test_degraded_is_a_known_status_and_not_available(version: str) -> None:
    backend = make_converter(version, strict=True).structure(
        capture("v04_status_degraded.json"), Backend
    )
    assert backend.status is BackendStatus.DEGRADED
    assert backend.is_available is False


# The 401 on a public endpoint (qBraid/qBraid#1194)


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_rejected_key_does_not_blind_a_status_poller(
    version: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with Emulator(reject_key_on_public=True, api_key=SECRET) as emulator:
        async with IonQClient(SECRET, base_url=emulator.base_url, api_version=version) as client:
            with caplog.at_level(logging.WARNING, logger="ionq_backends"):
                first = await client.get_backend("qpu.aria-1")
                snapshot = await client.get_backends(["qpu.aria-1", "qpu.forte-1"])
                listed = await client.list_backends()
            latest = await client.latest_characterization("qpu.aria-1")
    assert client.key_rejected is True
    assert first.qubits == 25 and first.has_access is None
    assert not snapshot.errors and all(b.has_access is None for b in snapshot.values())
    assert all(b.has_access is None for b in listed)
    assert latest is not None  # characterizations keep the key
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert SECRET not in caplog.text
    public = [r for r in emulator.requests if r.path.endswith(("backends", "aria-1", "forte-1"))]
    # Only the first public request paid two round trips: one with the key, one without.
    assert [r.headers.get("Authorization") for r in public][:2] == ["[REDACTED]", None]
    assert all(r.headers.get("Authorization") is None for r in public[2:])
    characterizations = [r for r in emulator.requests if "characterizations" in r.path]
    assert characterizations and all(r.headers.get("Authorization") for r in characterizations)


async def test_a_list_asked_with_an_accepted_key_keeps_what_it_says_of_access() -> None:
    async with Emulator(api_key=SECRET) as emulator:
        async with IonQClient(SECRET, base_url=emulator.base_url) as client:
            listed = await client.list_backends()
            one = await client.get_backend("qpu.aria-1")
    assert client.key_rejected is False
    assert listed and {b.has_access for b in listed} == {True} and one.has_access is True


async def test_characterizations_keep_the_key_with_no_fallback() -> None:
    async with Emulator(api_key=SECRET) as emulator:
        async with IonQClient("wrong-key", base_url=emulator.base_url) as client:
            with pytest.raises(AuthenticationError):
                await client.latest_characterization("qpu.aria-1")
    assert client.key_rejected is False
    assert len(emulator.requests) == 1


async def test_a_borrowed_session_also_falls_back() -> None:
    import aiohttp

    async with Emulator(reject_key_on_public=True) as emulator, aiohttp.ClientSession() as http:
        async with IonQClient(SECRET, base_url=emulator.base_url, session=http) as client:
            backends = await client.list_backends()
            again = await client.get_backend("qpu.aria-1")
        assert not http.closed
    assert backends and again.has_access is None
    assert [r.headers.get("Authorization") for r in emulator.requests] == [
        "[REDACTED]", None, None,
    ]  # fmt: skip


@pytest.mark.parametrize("version", VERSIONS)
async def test_the_emulator_reproduces_each_quirk(version: str) -> None:
    async with Emulator() as emulator:
        emulator.set_backend("qpu.aria-1", last_updated=1647863473555)  # epoch milliseconds
        emulator.set_backend("qpu.aria-2", last_updated=1648557585)  # epoch seconds
        emulator.set_backend("qpu.forte-1", status="degraded")
        emulator.fleet["qpu.tempo-1"].extra["characterization_id"] = "hybrid-id"
        async with IonQClient(base_url=emulator.base_url, api_version=version) as client:
            backends = {b.name: b for b in await client.list_backends()}
    assert backends["qpu.aria-1"].last_updated == datetime(
        2022, 3, 21, 11, 51, 13, 555000, tzinfo=UTC
    )
    assert backends["qpu.aria-2"].last_updated == datetime(2022, 3, 29, 12, 39, 45, tzinfo=UTC)
    assert backends["qpu.forte-1"].status is BackendStatus.DEGRADED
    assert backends["qpu.tempo-1"].characterization_id == "hybrid-id"
