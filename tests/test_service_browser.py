"""The live page in a real headless Chromium (Debian's chromium and chromium-driver).

Under CI=true this never skips: a missing browser fails it (`.ci/run` installs one). With
IONQ_SCREENSHOT=1 it saves docs/serve.png.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ionq_backends.emulator import Emulator

from .service_support import ServerThread, seed_history

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "serve.png"
# Two hostile names: one would raise an alert, the other would set a flag, if ever run as HTML.
ALERT_NAME = "<img src=x onerror=alert(1)>"
FLAG_NAME = '<img src=x onerror="window.__pwned=1">'
# Names a plain object already has: looked up in one, they break every plot.
PROTOTYPE_NAMES = ("__proto__", "constructor", "toString")
# Seeded history: the emulator's QPUs around their emulated queue times (seconds).
QUEUES = {
    "qpu.aria-1": 1181.0,
    "qpu.aria-2": 900.0,
    "qpu.forte-1": 12240.0,
    "qpu.forte-enterprise-1": 540.0,
    "qpu.forte-enterprise-2": 2700.0,
    "qpu.forte-enterprise-3": 1800.0,
    "qpu.tempo-1": 86400.0,
}


def _need_browser() -> Any:
    """The selenium module, or a skip (a failure under CI=true) saying what is missing."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium.webdriver
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    if missing:
        reason = "the browser test needs " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: it must run; .ci/run installs chromium)")
        pytest.skip(reason)
    return selenium.webdriver


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    webdriver = _need_browser()
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1440,1300",
        "--force-device-scale-factor=1",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.set_page_load_timeout(30)
        driver.set_script_timeout(10)
        yield driver
    finally:
        driver.quit()


def _statuses(driver: Any) -> dict[str, str]:
    return dict(
        driver.execute_script(
            "return Array.from(document.querySelectorAll('#fleet tbody tr'))"
            ".map(tr => [tr.cells[0].textContent, tr.cells[1].textContent]);"
        )
    )


def test_live_page_updates_draws_and_escapes(browser: Any, tmp_path: Path) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.support.ui import WebDriverWait

    db = tmp_path / "history.sqlite3"
    seed_history(db, QUEUES)

    def hostile(emulator: Emulator) -> None:
        for name in (ALERT_NAME, FLAG_NAME, *PROTOTYPE_NAMES):
            emulator.set_backend(name, qubits=2, average_queue_time=5000)

    # New backends have no history yet: the page gets series without the prototype names.
    names = json.dumps(PROTOTYPE_NAMES)
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": f"""
        const realFetch = window.fetch;
        window.fetch = async (...args) => {{
          const response = await realFetch(...args);
          if (!String(args[0]).includes("api/history")) return response;
          const data = await response.json();
          for (const name of {names}) delete data.series[name];
          return new Response(JSON.stringify(data), {{status: response.status}});
        }};"""})  # fmt: skip
    with ServerThread(db, hostile, interval=0.1) as server:
        expected = set(server.call(lambda: list(server.emulator.fleet)))
        browser.get(server.url)

        # Every backend of the emulator, hostile names included, shows up.
        WebDriverWait(browser, 20, 0.05).until(lambda d: expected <= set(_statuses(d)))
        assert _statuses(browser)["qpu.aria-1"] == "available"

        # A change reaches the page within 2 s, by server-sent events (no reload).
        browser.execute_script("window.__sameDocument = true;")
        server.call(server.emulator.set_backend, "qpu.aria-1", status="unavailable")
        WebDriverWait(browser, 2, 0.05).until(lambda d: _statuses(d)["qpu.aria-1"] == "unavailable")
        assert browser.execute_script("return window.__sameDocument === true;")
        pill_class = browser.execute_script(
            "return Array.from(document.querySelectorAll('#fleet tbody tr'))"
            ".find(tr => tr.cells[0].textContent === 'qpu.aria-1').cells[1].firstChild.className;"
        )
        assert "st-down" in pill_class

        # A drawn, non-empty plot: a line of real length from history points.
        drawn = (
            "const lines = Array.from(document.querySelectorAll('svg.queue path.line'));"
            "return lines.filter(p => p.getTotalLength() > 10"
            " && Number(p.ownerSVGElement.dataset.points) > 1).length;"
        )
        WebDriverWait(browser, 10, 0.05).until(lambda d: d.execute_script(drawn) >= len(QUEUES))
        bars = browser.execute_script("return document.querySelectorAll('svg rect.up').length;")
        assert bars > 0
        # One card per backend, `__proto__` and `toString` included, each a plot or "no history".
        cards = browser.execute_script(
            "return Array.from(document.querySelectorAll('#plots .card')).map(c =>"
            " [c.querySelector('h3').textContent, !!c.querySelector('svg, p.empty')]);"
        )
        assert {name for name, _ in cards} >= expected and all(ok for _, ok in cards)

        # Hostile names are text, nothing of them ran.
        for name in (ALERT_NAME, FLAG_NAME):
            assert name in _statuses(browser)
        assert browser.execute_script("return document.querySelectorAll('main img').length;") == 0
        assert browser.execute_script("return window.__pwned;") is None
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text  # noqa: B018 - the property raises when there is none

        severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert severe == []

    if os.environ.get("IONQ_SCREENSHOT") == "1":
        _screenshot(browser, tmp_path / "screenshot.sqlite3", drawn)


def _screenshot(browser: Any, db: Path, drawn: str) -> None:
    """docs/serve.png: the default emulator fleet over a seeded week, one QPU unreadable."""
    from selenium.webdriver.support.ui import WebDriverWait

    seed_history(db, QUEUES)

    def scene(emulator: Emulator) -> None:
        emulator.set_backend("qpu.forte-enterprise-2", status="calibrating")
        # The monitor reads the fleet from the list: a malformed item fails that QPU alone.
        emulator.set_backend("qpu.forte-enterprise-3", status=503)

    with ServerThread(db, scene, interval=0.5) as server:
        browser.get(server.url + "#7d")
        WebDriverWait(browser, 20, 0.05).until(lambda d: d.execute_script(drawn) >= len(QUEUES))
        WebDriverWait(browser, 20, 0.05).until(
            lambda d: (
                "invalid response"
                in d.execute_script("return document.querySelector('#fleet tbody').textContent;")
            )
        )
        SCREENSHOT.parent.mkdir(exist_ok=True)
        browser.save_screenshot(str(SCREENSHOT))
