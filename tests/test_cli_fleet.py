"""`best`, `list --available ...` and `characterizations`: the real console script, and its
pure formatters."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

from ionq_backends import (
    Backend,
    Characterization,
    CircuitShape,
    ErrorRate,
    FidelityStat,
    RankedBackend,
    Timing,
    rank_for_circuit,
)
from ionq_backends._cli.fleet import best_rows, characterization_rows, error_cell
from ionq_backends.emulator import Emulator

from . import factories
from .factories import CLEAN_ENV

SCRIPT = Path(sys.executable).with_name("ionq-backends")
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          env=CLEAN_ENV, stdin=subprocess.DEVNULL)  # fmt: skip


def rows_of(stdout: str) -> list[list[str]]:
    """Table rows split on runs of two or more spaces (cells may hold one space)."""
    return [re.split(r" {2,}", line.strip()) for line in stdout.splitlines()]


@pytest.mark.parametrize("version", ["v0.3", "v0.4"])
def test_best_ranks_the_emulators_fleet(version: str) -> None:
    result = run("best", "--qubits", "30", "--two-qubit-gates", "200", "--emulator",
                 "--api-version", version)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    header, *rows = rows_of(result.stdout)
    assert header == ["RANK", "NAME", "QUBITS", "FIDELITY", "QUEUE", "CALIBRATED", "EXCLUDED"]
    assert [r[:2] for r in rows[:3]] == [
        ["1", "qpu.tempo-1"], ["2", "qpu.forte-enterprise-1"], ["3", "qpu.forte-1"],
    ]  # fmt: skip
    assert float(rows[0][3]) > float(rows[1][3]) == float(rows[2][3]) > 0
    excluded = {r[1]: r[-1] for r in rows[3:]}
    assert excluded["qpu.aria-1"] == "25 qubits < 30"
    assert excluded["simulator"] == "29 qubits < 30"
    assert excluded["qpu.forte-enterprise-2"] == "degraded"
    assert all(r[0] == "-" for r in rows[3:])


def test_best_json_sorted_by_queue_with_degraded() -> None:
    result = run("best", "--qubits", "30", "--one-qubit-gates", "10", "--measured", "2",
                 "--sort", "queue", "--include-degraded", "--emulator", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    ranked = [(r["rank"], r["name"]) for r in rows if r["rank"]]
    assert ranked == [(1, "qpu.forte-enterprise-1"), (2, "qpu.forte-enterprise-2"),
                      (3, "qpu.forte-1"), (4, "qpu.tempo-1")]  # fmt: skip
    first = rows[0]
    assert set(first) >= {"expected_fidelity", "queue_time_s", "calibration_age_s", "excluded"}
    assert first["queue_time_s"] == 540.0
    assert 0 < first["expected_fidelity"] < 1
    assert first["calibrated_at"].endswith("Z")


@pytest.mark.parametrize(
    "args",
    [["best"], ["best", "--qubits", "0"], ["best", "--qubits", "3", "--measured", "4"],
     ["best", "--qubits", "3", "--two-qubit-gates", "-1"], ["list", "--sort", "fidelity"],
     ["list", "--min-qubits", "x"]],
)  # fmt: skip
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = run(*args, "--emulator")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip()
    assert "Traceback" not in result.stderr


def test_list_available_min_qubits_sorted_by_queue() -> None:
    result = run("list", "--available", "--min-qubits", "30", "--sort", "queue", "--emulator")
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == [
        "qpu.forte-enterprise-1", "qpu.forte-1", "qpu.tempo-1",
    ]  # fmt: skip
    as_json = run("list", "--available", "--include-degraded", "--json", "--emulator")
    backends = json.loads(as_json.stdout)
    assert {b["name"] for b in backends} == {
        "qpu.aria-1", "qpu.forte-1", "qpu.forte-enterprise-1", "qpu.forte-enterprise-2",
        "qpu.tempo-1", "simulator",
    }  # fmt: skip
    assert [b["name"] for b in backends][:2] == ["qpu.aria-1", "qpu.forte-1"]  # the API's order


def test_characterizations_show_age_and_error_rates() -> None:
    table = run("characterizations", "qpu.forte-1", "--limit", "2", "--emulator")
    assert table.returncode == 0, table.stderr
    header, first, second = rows_of(table.stdout)
    assert header[:6] == ["DATE", "AGE", "ID", "1Q ERR", "2Q ERR", "SPAM ERR"]
    assert second[1] == "1 d"
    assert first[4] == "0.560%±0.11"  # 1 − 0.9944, with the 2q stderr 0.0011
    assert first[5] == "0.410%"  # spam has no stderr
    as_json = run("characterizations", "qpu.forte-1", "--limit", "1", "--emulator", "--json")
    (item,) = json.loads(as_json.stdout)
    assert 0 <= item["age_s"] < 86400
    assert item["error_rates"]["2q"] == {"value": pytest.approx(0.0056), "stderr": 0.0011,
                                         "statistic": "median"}  # fmt: skip
    assert item["fidelity"]["2q"]["value"] == 0.9944  # the model's own fields are still there


async def test_best_reports_a_failed_characterization_and_exits_1() -> None:
    async with Emulator() as emulator:
        # A 403 is not retried, so no backoff is waited for.
        emulator.inject("/v0.4/backends/qpu.forte-1/characterizations", status=403)
        proc = await asyncio.create_subprocess_exec(
            str(SCRIPT), "best", "--qubits", "30", "--base-url", emulator.base_url, env=CLEAN_ENV,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            async with asyncio.timeout(60):
                out, err = await proc.communicate()
        finally:
            if proc.returncode is None:  # timed out: no child outlives its test
                proc.kill()
                await proc.wait()
    assert proc.returncode == 1
    (line,) = err.decode().splitlines()
    assert line.startswith("ionq-backends: qpu.forte-1: 403 ")
    rows = rows_of(out.decode())
    assert [r[1] for r in rows[1:4]] == ["qpu.tempo-1", "qpu.forte-enterprise-1", "qpu.forte-1"]
    assert rows[3][3] == "-"  # ranked, but its fidelity is unknown


def test_help_lists_best() -> None:
    assert "best" in run("--help").stdout
    assert "--two-qubit-gates" in run("best", "--help").stdout


# Pure formatters


def test_error_cell() -> None:
    assert error_cell(None) == "-"
    assert error_cell(ErrorRate(None, 0.1, "median")) == "-"
    assert error_cell(ErrorRate(0.0137, 0.0011, "median")) == "1.37%±0.11"
    assert error_cell(ErrorRate(0.0002, 2e-05, "mean")) == "0.0200%±0.0020"
    assert error_cell(ErrorRate(0.0061, None, "median")) == "0.610%"


def test_rows_handle_missing_everything() -> None:
    bare = Backend("qpu.bare", "available", "v0.4", qubits=None)
    undated = Characterization("c", None, None, "v0.4")
    assert characterization_rows([undated], NOW) == [["-", "-", "c", "-", "-", "-", "-", "-", "0"]]
    ranked = rank_for_circuit([bare], {"qpu.bare": undated}, CircuitShape(qubits=1), now=NOW)
    assert best_rows(ranked, NOW) == [["-", "qpu.bare", "-", "-", "-", "-", "qubit count unknown"]]
    dated = Characterization("d", None, NOW - timedelta(hours=3), "v0.4",
                             fidelity={"1q": FidelityStat(0.999, None, "mean")})  # fmt: skip
    assert characterization_rows([dated], NOW)[0][:4] == ["2026-11-21 09:00", "3 h", "d",
                                                          "0.100%"]  # fmt: skip


def test_every_cell_of_a_ranked_row_and_a_characterization_row() -> None:
    calibration = attrs.evolve(
        factories.characterization({"1q": 0.9998, "2q": 0.99, "spam": None},
                                   connectivity=((0, 1), (1, 2))),
        timing=Timing(t1=100.0, t2=1.5),
    )  # fmt: skip
    row = ["2026-11-21 07:00", "5 h", "c-1", "0.0200%", "1.00%±0.10", "-", "100", "1.5", "2"]
    assert characterization_rows([calibration], factories.NOW) == [row]
    ranked = [
        RankedBackend(factories.backend("qpu.a", qubits=36, average_queue_time=90_000.0),
                      calibration, 0.912345, timedelta(hours=5), rank=1),
        RankedBackend(factories.backend("qpu.b", "unavailable", average_queue_time=90_000.0),
                      None, None, None, excluded="status unavailable"),
    ]  # fmt: skip
    assert best_rows(ranked, factories.NOW) == [
        ["1", "qpu.a", "36", "0.9123", "1m 30s", "5 h ago", ""],
        ["-", "qpu.b", "-", "-", "-", "-", "status unavailable"],  # it runs no jobs: no queue
    ]
