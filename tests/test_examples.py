"""The examples run as users run them: as scripts, against the embedded emulator, no network."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
from aiohttp import web

from ionq_backends import BackendName, IonQClient
from ionq_backends.emulator import Emulator
from ionq_backends.service import MONITOR

from .conftest import child, read_line
from .factories import CLEAN_ENV

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True,
                          text=True, timeout=60, env=CLEAN_ENV)  # fmt: skip


def test_quickstart_prints_the_fleet() -> None:
    result = run("quickstart.py")
    assert result.returncode == 0, result.stderr
    for name in BackendName:
        assert name in result.stdout
    assert "qpu.aria-1               available      25 qubits  queue 19m 41s" in result.stdout


def test_characterization_report_both_versions() -> None:
    for version in ("v0.3", "v0.4"):
        result = run("characterization_report.py", "--api-version", version)
        assert result.returncode == 0, result.stderr
        rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()[1:]}
        assert rows["qpu.aria-1"] == ["0.9998", "0.9861", "0.9937", "100", "1", "300"]
        assert rows["qpu.tempo-1"][-1] == "4950"  # 100 qubits, all to all


def test_poll_status_prints_changes_as_they_happen() -> None:
    result = run("poll_status.py", "--interval", "0.2", "--max-events", "11")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 11
    assert "qpu.aria-1: available (25 qubits)" in lines[0]
    assert "simulator: available (29 qubits)" in lines[8]  # the whole fleet, not six names
    assert "qpu.aria-1: status available -> unavailable" in lines[9]
    assert "qpu.forte-1: ERROR invalid response" in lines[10]


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_status_service_mounts_the_monitor_and_reads_its_state(
    ionq_emulator: Emulator, tmp_path: Path
) -> None:
    service = load("status_service")
    client = IonQClient(base_url=ionq_emulator.base_url, max_retries=0)
    app = service.build_app(client_factory=lambda: client, interval=0.05,
                            db_path=tmp_path / "history.sqlite3")  # fmt: skip
    monitor = app[service.FLEET][MONITOR]
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with aiohttp.ClientSession() as http, asyncio.timeout(20):
            await monitor.wait_rounds(1)
            # The monitor reads the fleet from the list: a malformed item is its backend's error.
            ionq_emulator.set_backend("qpu.forte-1", status=5)
            await monitor.wait_for(lambda: monitor.state.views["qpu.forte-1"].error is not None)
            async with http.get(url + "/status") as response:
                body = await response.json()
            async with http.get(url + "/fleet/api/fleet") as response:
                fleet = await response.json()
    finally:
        await runner.cleanup()
    queues = [b["queue_seconds"] for b in body["available"]]
    assert queues == sorted(queues)  # least busy first
    # select()'s answer: running, not degraded, hardware, and known now (forte-1 fails to poll).
    assert [b["name"] for b in body["available"]] == [
        "qpu.forte-enterprise-1", "qpu.aria-1", "qpu.tempo-1"]  # fmt: skip
    assert "expected string, got 5" in body["failing"]["qpu.forte-1"]
    assert {b["name"] for b in fleet["backends"]} >= set(BackendName)
    assert client._transport.closed  # cleanup_ctx closed the client with the app


def test_status_service_as_a_process(tmp_path: Path) -> None:
    command = [
        sys.executable,
        str(EXAMPLES / "status_service.py"),
        "--port",
        "0",
        "--interval",
        "0.2",
        "--db",
        str(tmp_path / "history.sqlite3"),
    ]
    with child(command, stdout=subprocess.PIPE, env=CLEAN_ENV) as proc:
        assert proc.stdout is not None
        line = read_line(proc.stdout)
        assert line.startswith("serving fleet status on http://127.0.0.1:")
        url = line.split()[4]
        body: dict[str, Any] = {"rounds": 0}
        deadline = time.monotonic() + 20
        while body["rounds"] < 1 and time.monotonic() < deadline:
            with urllib.request.urlopen(url, timeout=10) as response:  # until the first round
                body = json.loads(response.read())
        assert {b["name"] for b in body["available"]} >= {"qpu.aria-1", "qpu.forte-1"}
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    assert proc.returncode == 0
