"""`ionq-backends serve` as a command: the missing extra, usage errors, and SIGINT/SIGTERM."""

from __future__ import annotations

import itertools
import json
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ionq_backends.service.cli import main

from .conftest import child, read_line
from .factories import CLEAN_ENV


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=CLEAN_ENV)  # fmt: skip


@pytest.mark.parametrize(
    ("missing", "entry", "prefix"),
    [("prometheus_client", "ionq_backends.service.cli", ""),
     ("aiohttp_sse", "ionq_backends._cli", "'serve', ")],
)  # fmt: skip
def test_without_the_extra_it_names_the_extra_in_one_line(
    missing: str, entry: str, prefix: str, tmp_path: Path
) -> None:
    result = python(
        f"import sys; sys.modules[{missing!r}] = None\n"  # what an absent package looks like
        f"from {entry} import main\n"
        f"raise SystemExit(main([{prefix}'--emulator', '--db', {str(tmp_path / 'h')!r}]))"
    )
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "ionq-backends[service]" in lines[0] and missing in lines[0]
    assert not (tmp_path / "h").exists()


def test_the_core_sdk_does_not_import_the_monitor_or_its_dependencies() -> None:
    result = python(
        "import sys, ionq_backends, ionq_backends.service.cli\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in "
        "('prometheus_client', 'aiohttp_sse') or m.startswith('ionq_backends.service._app')]\n"
        "print(loaded)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "h.sqlite3")
    for argv in (["--retention", "30"], ["--interval", "0"], ["--port", "70000"]):
        with pytest.raises(SystemExit) as exit_:
            main(["--db", db, *argv])
        assert exit_.value.code == 2
        assert "ionq-backends serve: error: argument" in capsys.readouterr().err
    assert main(["--db", db, "--base-url", "http://example.com"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ionq-backends serve: error:") and "example.com" in err
    assert not Path(db).exists()


def test_a_foreign_db_file_or_a_busy_port_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = tmp_path / "accounts.sqlite3"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE accounts (id INTEGER)")
    conn.commit()
    conn.close()
    assert main(["--emulator", "--db", str(foreign), "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "history" in err and "not an ionq-backends history" in err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        db = str(tmp_path / "h.sqlite3")
        argv = ["--emulator", "--db", db, "--port", str(port), "--interval", "0.05"]
        assert main(argv) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_a_malformed_history_file_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ionq_backends.service._history import SampleRow
    from ionq_backends.service._store import HistoryDB

    path = tmp_path / "h.sqlite3"
    db = HistoryDB(path)
    db.record([SampleRow(f"qpu.{i}", 60 * i, 1, 1, 1.0) for i in range(2000)], [])
    db._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(path.read_bytes())
    data[4096 * 2 : 4096 * 6] = b"\xff" * (4096 * 4)
    path.write_bytes(bytes(data))
    assert main(["--emulator", "--db", str(path), "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"history: {path}: " in err and "malformed" in err


@pytest.mark.parametrize(
    ("entry", "sig"),
    [(["ionq_backends.service"], signal.SIGTERM), (["ionq_backends", "serve"], signal.SIGINT)],
)
def test_serves_until_a_signal_then_closes_cleanly(
    entry: list[str], sig: signal.Signals, tmp_path: Path
) -> None:
    db = tmp_path / "h.sqlite3"
    command = [sys.executable, "-m", *entry, "--emulator", "--db", str(db),
               "--port", "0", "--interval", "0.05", "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=CLEAN_ENV)  # fmt: skip
    try:
        assert proc.stdout is not None
        line = read_line(proc.stdout)
        assert line.startswith("ionq-backends serve: http://127.0.0.1:"), line
        url = line.split()[2]
        health: dict[str, object] = {}
        deadline = time.monotonic() + 30
        while health.get("status") != "ok" and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "healthz", timeout=10) as response:
                    health = json.loads(response.read())
            except urllib.error.HTTPError as exc:  # 503 until the first round ends
                health = json.loads(exc.read())
                exc.close()
        assert health["status"] == "ok"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode == (130 if sig == signal.SIGINT else 0), err  # Ctrl-C, or a stop
    assert "Traceback" not in err
    assert not Path(f"{db}-wal").exists()  # the history was closed, its WAL checkpointed
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] >= 9
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("flags", "env"),
    [(["-vv"], {}), ([], {"IONQ_LOG": "debug"}), (["-vv"], {"IONQ_LOG": "debug"})],
)
def test_each_log_line_is_printed_once(
    flags: list[str], env: dict[str, str], tmp_path: Path
) -> None:
    command = [sys.executable, "-m", "ionq_backends", "serve", *flags, "--emulator",
               "--db", str(tmp_path / "h.sqlite3"), "--port", "0", "--interval", "0.05",
               "--log-level", "debug"]  # fmt: skip
    with child(
        command, env={**CLEAN_ENV, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stderr is not None
        lines = [read_line(proc.stderr) for _ in range(30)]
    logged = [line for line in lines if " DEBUG " in line or " INFO " in line]
    assert len(logged) >= 20
    # With a second handler anywhere, every line would come twice, one after the other.
    assert all(a != b for a, b in itertools.pairwise(logged)), logged[:6]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--emulator", "--base-url", "http://127.0.0.1:1"],
         "--base-url and --emulator contradict each other"),
        (["--scenario", "day"], "--scenario plays on the emulator: add --emulator"),
    ],
)  # fmt: skip
def test_contradicting_options_are_a_usage_error(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main([*args, "--db", str(tmp_path / "h.sqlite3"), "--port", "0"]) == 2
    assert message in capsys.readouterr().err
