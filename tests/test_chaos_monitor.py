"""The chaos suite for `serve`: hypothesis drives the fleet monitor with hostile fleets and
names, damaged history files and foreign Host headers.

The property: the monitor starts (or refuses its history file with one `HistoryError` line),
goes on polling round after round, and answers every endpoint with what it promises, never a
500, whatever the API lists and whoever asks.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from ionq_backends import IonQClient
from ionq_backends.emulator import Emulator
from ionq_backends.service import MONITOR, HistoryError, create_app

from .conftest import ionq_tasks
from .service_support import running

NAMES = st.one_of(
    st.text(max_size=12),  # any text: lone surrogates, controls, dots, empty
    st.sampled_from(["..", ".", "", "__proto__", "toString", "\ud800", "a\nb", "x" * 3000,
                     "qpu.aria-1"]),
)  # fmt: skip
VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                   st.text(max_size=8), st.lists(st.integers(), max_size=2))  # fmt: skip
BACKENDS = st.dictionaries(
    NAMES,
    st.fixed_dictionaries(
        {"status": st.one_of(st.sampled_from(["available", "unavailable", "retired"]), VALUES)},
        optional={"qubits": VALUES, "average_queue_time": VALUES, "characterization_id": VALUES,
                  "last_updated": VALUES, "degraded": VALUES},
    ),
    max_size=4,
)  # fmt: skip
ASCII = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
HOSTS = st.one_of(
    st.sampled_from(["localhost", "127.0.0.1", "evil.example", "", "[::1]"]),
    st.text(ASCII, max_size=20),
)
HISTORY = st.one_of(
    st.none(),  # a new file
    st.binary(max_size=2048),  # garbage, or nothing
    st.just(b"foreign"),  # another application's SQLite database
)


def _history_file(directory: Path, content: bytes | None) -> Path:
    path = directory / "history.sqlite3"
    if content == b"foreign":
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE accounts (id INTEGER)")
        conn.close()
    elif content is not None:
        path.write_bytes(content)
    return path


async def _scenario(fleet: dict[str, dict[str, Any]], host: str, content: bytes | None) -> None:
    async with Emulator() as emulator:
        for name, fields in fleet.items():
            emulator.set_backend(name, **fields)
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app(
                client_factory=lambda: IonQClient(base_url=emulator.base_url, max_retries=0),
                db_path=_history_file(Path(tmp), content),
                interval=0.01,
            )
            monitor = app[MONITOR]
            try:
                async with running(app) as url, aiohttp.ClientSession() as http:
                    await asyncio.wait_for(monitor.wait_rounds(2), 20)
                    for path in ("healthz", "api/fleet", "metrics", "api/history", ""):
                        async with http.get(url + path) as response:
                            assert response.status in (200, 503), (path, response.status)
                            body = await response.text()
                        if path == "metrics":
                            list(text_string_to_metric_families(body))  # it parses
                    async with http.get(url + "api/fleet", headers={"Host": host}) as response:
                        assert response.status in (200, 421)
            except HistoryError as exc:
                assert content is not None and "\n" not in str(exc)  # one line, naming the file
                assert str(Path(tmp)) in str(exc)
    assert ionq_tasks() == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet=BACKENDS, host=HOSTS, content=HISTORY)
def test_the_monitor_survives_any_fleet_history_and_host(
    fleet: dict[str, dict[str, Any]], host: str, content: bytes | None
) -> None:
    asyncio.run(_scenario(fleet, host, content))
