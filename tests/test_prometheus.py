"""The shipped Prometheus files as tested code: promtool checks and unit-tests the alert rules,
amtool the Alertmanager route, and a real Prometheus scraping the monitor sees an alert go
pending, then firing, and answers every query of the Grafana dashboard.

Under CI=true these never skip: a missing tool fails them (`.ci/run` installs Debian's
`prometheus` and `prometheus-alertmanager`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ionq_backends.service._metrics import Metrics
from ionq_backends.service._state import FleetState
from ionq_backends.service.prometheus import ALERTMANAGER, DASHBOARD, PROMETHEUS, RULES

from .service_support import ServerThread

UNIT_TESTS = Path(__file__).parent / "prometheus" / "alerts_test.yml"
T = TypeVar("T")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        reason = f"{name} is not installed (Debian: prometheus, prometheus-alertmanager)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: it must run; .ci/run installs it)")
        pytest.skip(reason)
    return path


def _run(*command: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def _alert_names(text: str) -> set[str]:
    return set(re.findall(r"^\s*- alert: (\w+)", text, re.M))


def _dashboard_queries() -> list[tuple[str, str]]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [(p["title"], t["expr"]) for p in panels for t in p.get("targets", [])]


# Without Prometheus


def test_every_metric_the_rules_and_the_dashboard_name_is_one_serve_exports() -> None:
    exported: set[str] = set()
    for family in Metrics(FleetState([])).registry.collect():
        suffixes = {"counter": ("_total",), "info": ("_info",),
                    "histogram": ("_bucket", "_sum", "_count")}.get(family.type, ("",))  # fmt: skip
        exported |= {family.name + suffix for suffix in suffixes}
    queries = [expr for _, expr in _dashboard_queries()]
    named = set(re.findall(r"\bionq_[a-z0-9_]+", RULES.read_text() + "\n".join(queries)))
    assert named and named <= exported, sorted(named - exported)
    assert len(queries) >= 10 and all(queries)


def test_every_dashboard_panel_has_a_unique_id_a_title_and_a_place() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for p in panels:
        assert p["title"] and set(p["gridPos"]) == {"x", "y", "w", "h"}
        for target in p.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}"  # the dashboard's variable


# promtool and amtool


def test_the_rules_and_the_scrape_config_pass_promtool_check() -> None:
    promtool = _tool("promtool")
    assert "SUCCESS: 8 rules found" in _run(promtool, "check", "rules", str(RULES))
    assert "SUCCESS" in _run(promtool, "check", "config", str(PROMETHEUS))


def test_every_alert_has_unit_tests_and_they_pass() -> None:
    promtool = _tool("promtool")
    tested = set(re.findall(r"alertname: (\w+)", UNIT_TESTS.read_text()))
    assert tested == _alert_names(RULES.read_text())
    assert "SUCCESS" in _run(promtool, "test", "rules", str(UNIT_TESTS))


def test_a_rule_off_by_its_threshold_fails_the_unit_tests(tmp_path: Path) -> None:
    promtool = _tool("promtool")
    (tmp_path / "rules").mkdir()
    off_by_one = RULES.read_text().replace("> 4 * 3600", ">= 4 * 3600")
    (tmp_path / "rules" / "alerts.yml").write_text(off_by_one)
    tests = UNIT_TESTS.read_text().replace("../../ionq_backends/service/prometheus/", "rules/")
    (tmp_path / "alerts_test.yml").write_text(tests)
    result = subprocess.run([promtool, "test", "rules", str(tmp_path / "alerts_test.yml")],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 1 and "IonQQueueLong" in result.stdout + result.stderr


def test_the_alertmanager_route_passes_amtool_check_config() -> None:
    amtool = _tool("amtool")
    assert "SUCCESS" in _run(amtool, "check-config", str(ALERTMANAGER))


# A real Prometheus scraping serve --emulator


class Prometheus:
    """Debian's prometheus on loopback, in a temporary directory, scraping `target` and
    evaluating the shipped rules every INTERVAL, each `for:` cut to FOR (the expressions as
    shipped). Half a second, not the shipped 15 s, so that no test takes 5 s."""

    INTERVAL = "500ms"
    FOR = "1s"  # two evaluations: an alert is seen pending before it fires

    def __init__(self, directory: Path, target: str) -> None:
        rules = re.sub(r"for: \S+", f"for: {self.FOR}", RULES.read_text())
        (directory / "alerts.yml").write_text(rules)
        (directory / "prometheus.yml").write_text(json.dumps({  # JSON is YAML
            "global": {"scrape_interval": self.INTERVAL, "evaluation_interval": self.INTERVAL},
            "rule_files": [str(directory / "alerts.yml")],
            "scrape_configs": [{"job_name": "ionq-fleet",
                                "static_configs": [{"targets": [target]}]}],
        }))  # fmt: skip
        with socket.socket() as probe:  # a free port: prometheus cannot report one it picked
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [_tool("prometheus"), f"--config.file={directory / 'prometheus.yml'}",
             f"--storage.tsdb.path={directory / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
             "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def get(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(self.url + path + query, timeout=5) as answer:
            return json.load(answer)

    def query(self, expr: str) -> list[dict[str, Any]] | None:
        """The instant query's result, or None when it has none."""
        return self.get("/api/v1/query", query=expr)["data"]["result"] or None

    def until(self, what: str, probe: Callable[[], T | None], timeout: float = 30) -> T:
        """Prometheus pushes nothing to a test: its API is read at its evaluation cadence."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"prometheus exited: {self.process.stderr.read()}")  # type: ignore[union-attr]
            try:
                found = probe()
            except OSError:  # not listening yet
                found = None
            if found is not None:
                return found
            time.sleep(0.1)
        raise AssertionError(f"no {what} within {timeout} s")

    def alert(self, name: str, **labels: str) -> str | None:
        for alert in self.get("/api/v1/alerts")["data"]["alerts"]:
            if alert["labels"]["alertname"] == name and labels.items() <= alert["labels"].items():
                return str(alert["state"])
        return None

    def close(self) -> None:
        self.process.terminate()
        self.process.communicate(timeout=30)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerThread, Prometheus]]:
    """serve --emulator (rounds every 0.25 s, stale after 3 × 0.25 + 1 s) and Prometheus on it."""
    directory = tmp_path_factory.mktemp("prometheus")
    with ServerThread(directory / "history.sqlite3", interval=0.25, timeout=1.0, jitter=0) as serve:
        prometheus = Prometheus(directory, urllib.parse.urlsplit(serve.url).netloc)
        try:
            prometheus.until(
                "scrape of serve", lambda: prometheus.query('up{job="ionq-fleet"} == 1')
            )
            yield serve, prometheus
        finally:
            prometheus.close()


def _states(prometheus: Prometheus, name: str, **labels: str) -> list[str]:
    """The states the alert passes through until it fires, each once, in order."""
    seen: list[str] = []

    def firing() -> bool | None:
        state = prometheus.alert(name, **labels)
        if state is not None and (not seen or seen[-1] != state):
            seen.append(state)
        return True if state == "firing" else None

    prometheus.until(f"{name} {labels} firing", firing)
    return seen


def test_a_qpu_the_api_takes_down_goes_pending_then_firing(
    stack: tuple[ServerThread, Prometheus],
) -> None:
    serve, prometheus = stack
    assert prometheus.alert("IonQBackendDown", backend="qpu.aria-1") is None
    serve.call(serve.emulator.set_backend, "qpu.aria-1", status="unavailable")
    try:
        states = _states(prometheus, "IonQBackendDown", backend="qpu.aria-1", cause="reported")
        assert states == ["pending", "firing"]
        assert prometheus.alert("IonQBackendDown", backend="qpu.harmony") is None  # retired
    finally:
        serve.call(serve.emulator.set_backend, "qpu.aria-1", status="available")
    prometheus.until("aria-1 resolved", lambda: prometheus.alert(
        "IonQBackendDown", backend="qpu.aria-1") is None or None)  # fmt: skip


def test_a_qpu_whose_every_poll_fails_fires_as_unreadable(
    stack: tuple[ServerThread, Prometheus],
) -> None:
    serve, prometheus = stack
    for path in ("/v0.4/backends", "/v0.4/backends/qpu.forte-1"):
        serve.call(serve.emulator.inject, path, status=503, times=10**6)
    try:
        states = _states(prometheus, "IonQBackendDown", backend="qpu.forte-1", cause="unreadable")
        assert states == ["pending", "firing"]
        # Its last status was available: only the stale gauge can have told.
        (info,) = prometheus.query('ionq_backend_info{backend="qpu.forte-1"}') or []
        assert info["metric"]["status"] == "available"
    finally:
        serve.call(serve.emulator.clear_faults)
    prometheus.until("forte-1 read again", lambda: prometheus.alert(
        "IonQBackendDown", backend="qpu.forte-1") is None or None)  # fmt: skip


def test_every_dashboard_query_returns_data(stack: tuple[ServerThread, Prometheus]) -> None:
    _, prometheus = stack
    for title, expr in _dashboard_queries():
        prometheus.until(f"data for {title!r}: {expr}", lambda e=expr: prometheus.query(e))
