"""Every code block of the README and of docs/ runs as pasted: the Python ones against an
emulator process, with `$IONQ_BASE_URL` pointing at it, the pytest example in a fresh project
under `-W error`, the CLI lines that need no network; and every relative link resolves."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .factories import CLEAN_ENV

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [block for doc in DOCUMENTS
          for block in re.findall(r"```(\w*)\n(.*?)```", doc.read_text(), re.S)]  # fmt: skip
PYTHON = [body for lang, body in BLOCKS if lang == "python"]
# Blocks that serve or poll until stopped: run until they show they work, then Ctrl-C.
LONG = ("# runs until Ctrl-C", "web.run_app(")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """A separate emulator process: the blocks run in processes of their own."""
    command = [sys.executable, "-m", "ionq_backends", "emulator", "--port", "0", "--json"]
    proc = subprocess.Popen(command, env=CLEAN_ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield json.loads(_line(proc, 30))["base_url"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)


def _line(proc: subprocess.Popen[str], timeout: float) -> str:
    """The next stdout line, or a failure after `timeout` seconds (never a hang)."""
    import selectors

    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            proc.kill()
            raise AssertionError(f"no output within {timeout}s")
    return proc.stdout.readline()


def test_the_readme_has_the_blocks_this_file_runs() -> None:
    assert len(PYTHON) >= 6
    assert sum("def test_" in b for b in PYTHON) == 1
    assert sum(any(mark in b for mark in LONG) for b in PYTHON) == 2


@pytest.mark.parametrize(
    "block",
    [b for b in PYTHON if "def test_" not in b and not any(m in b for m in LONG)],
    ids=lambda b: b.splitlines()[-1][:40],
)
def test_each_block_runs_as_pasted(block: str, base_url: str, tmp_path: Path) -> None:
    env = {**CLEAN_ENV, "IONQ_BASE_URL": base_url}
    result = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path, env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_the_watch_block_prints_the_fleet_until_ctrl_c(base_url: str, tmp_path: Path) -> None:
    (block,) = [b for b in PYTHON if "# runs until Ctrl-C" in b]
    proc = subprocess.Popen([sys.executable, "-c", block], cwd=tmp_path, text=True,
                            env={**CLEAN_ENV, "IONQ_BASE_URL": base_url}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    try:
        first = _line(proc, 30)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    assert first.startswith("now tracking qpu.aria-1 available")


def test_the_mounting_block_serves_the_monitor(base_url: str, tmp_path: Path) -> None:
    (block,) = [b for b in PYTHON if "web.run_app(" in b]
    proc = subprocess.Popen([sys.executable, "-c", block], cwd=tmp_path, text=True,
                            env={**CLEAN_ENV, "IONQ_BASE_URL": base_url}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    try:
        assert "Running on http://127.0.0.1:8000" in _line(proc, 30)  # aiohttp's own banner
        try:
            with urllib.request.urlopen("http://127.0.0.1:8000/fleet/healthz", timeout=10) as r:
                status = r.status
        except urllib.error.HTTPError as exc:  # 503 until the first round: it is up
            status = exc.code
            exc.close()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert status in (200, 503), err
    assert (tmp_path / "fleet.sqlite3").exists()


def test_the_pytest_example_passes_in_a_fresh_project_under_w_error(tmp_path: Path) -> None:
    (block,) = [b for b in PYTHON if "def test_" in b]
    (tmp_path / "test_router.py").write_text(block)
    (config,) = [body for lang, body in BLOCKS if lang == "toml" and "pytest" in body]
    (tmp_path / "pyproject.toml").write_text(config)
    command = [sys.executable, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider"]
    result = subprocess.run([*command, "test_router.py"], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path, env=CLEAN_ENV)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_the_cli_lines_that_need_no_network_run(tmp_path: Path) -> None:
    long_running = ("ionq-backends serve", "ionq-backends watch", "ionq-backends emulator")
    lines = [
        line.split("#")[0].strip()
        for lang, body in BLOCKS
        if lang == "sh"
        for line in body.splitlines()
        if line.startswith("ionq-backends ") and not line.startswith(long_running)
    ]
    assert len(lines) >= 5
    for line in lines:
        words = shlex.split(line)[1:]
        if "--emulator" not in words:  # as pasted, but against the emulator: no network here
            words.append("--emulator")
        command = [sys.executable, "-m", "ionq_backends", *words]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60,
                                cwd=tmp_path, env=CLEAN_ENV)  # fmt: skip
        assert result.returncode == 0, (line, result.stderr)
        assert result.stdout.strip(), line


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", re.sub(r"```.*?```", "", markdown, flags=re.S), re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda d: d.name)
def test_every_relative_link_resolves(doc: Path) -> None:
    text = doc.read_text()
    links = re.findall(r"\]\(([^)\s]+)\)", re.sub(r"```.*?```", "", text, flags=re.S))
    relative = [link for link in links if not re.match(r"[a-z]+:", link)]
    assert relative or doc != README
    for link in relative:
        path, _, anchor = link.partition("#")
        target = (doc.parent / path).resolve() if path else doc
        assert target.exists(), f"{doc.name}: {link} names no file"
        if anchor and target.suffix == ".md":
            assert anchor in _anchors(target.read_text()), f"{doc.name}: {link} names no heading"


def test_no_document_names_a_machine_path_or_an_absent_document() -> None:
    for doc in DOCUMENTS:
        text = doc.read_text()
        for stale in ("/work/", "/home/", "DESIGN.md", "this round", "§"):
            assert stale not in text, f"{doc.name} says {stale!r}"


def test_the_readme_reads_in_one_sitting_command_line_first() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= 650
    heading = {line: i for i, line in enumerate(lines, 1) if line.startswith("## ")}
    assert heading["## Command line"] < 200
    order = [
        "## On a fresh machine",
        "## Command line",
        "## API keys",
        "## Python API",
        "## Testing with the embedded emulator",
        "## Fleet monitor (`ionq-backends serve`)",
    ]
    assert [heading[h] for h in order] == sorted(heading[h] for h in order)
