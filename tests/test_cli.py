"""The real `ionq-backends` console script, in a subprocess, against the emulator."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from ionq_backends import _cli as cli
from ionq_backends.emulator import Emulator

from .conftest import CHILD_TIMEOUT, child, read_line
from .factories import CLEAN_ENV, SCRIPT, run_cli


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    """A separate `ionq-backends emulator` process, shared by the tests that need a base URL."""
    command = [str(SCRIPT), "emulator", "--port", "0", "--json"]
    with child(command, env=CLEAN_ENV, stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        yield json.loads(read_line(proc.stdout))["base_url"]
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)  # Ctrl-C's exit status is test_ctrl_c_exits_130's


def test_script_and_module_are_the_same_program() -> None:
    a = run_cli("--help")
    b = subprocess.run([sys.executable, "-m", "ionq_backends", "--help"], capture_output=True,
                       text=True, env=CLEAN_ENV, check=True, timeout=CHILD_TIMEOUT)  # fmt: skip
    assert a.returncode == 0
    assert a.stdout.replace("__main__.py", "ionq-backends") == b.stdout.replace(
        "__main__.py", "ionq-backends"
    )
    for command in ("list", "get", "watch", "characterizations", "emulator"):
        assert command in a.stdout


@pytest.mark.parametrize("version", ["v0.3", "v0.4"])
def test_list_table(version: str) -> None:
    result = run_cli("list", "--emulator", "--api-version", version)
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["NAME", "STATUS", "QUBITS", "QUEUE", "UPDATED", "DEGRADED"]
    aria = next(r for r in rows if r.startswith("qpu.aria-1 "))
    assert aria.split()[1:4] == ["available", "25", "19m"]
    assert "min ago" in aria
    assert "\x1b[" not in result.stdout  # not a TTY: no colour
    assert result.stderr == ""


@pytest.mark.parametrize("version", ["v0.3", "v0.4"])
def test_list_json_parses_back(version: str) -> None:
    result = run_cli("list", "--emulator", "--json", "--api-version", version)
    assert result.returncode == 0
    backends = json.loads(result.stdout)
    aria = next(b for b in backends if b["name"] == "qpu.aria-1")
    assert aria["status"] == "available"
    assert aria["api_version"] == version
    assert aria["last_updated"].endswith("Z")
    assert set(aria) >= {"name", "status", "qubits", "average_queue_time", "degraded", "extra"}


def test_get_success_and_partial_failure(emulator_url: str) -> None:
    ok = run_cli("get", "qpu.aria-1", "qpu.forte-1", "--base-url", emulator_url, "--json")
    assert ok.returncode == 0
    assert [b["name"] for b in json.loads(ok.stdout)] == ["qpu.aria-1", "qpu.forte-1"]
    partial = run_cli("get", "qpu.aria-1", "qpu.nope", "--base-url", emulator_url)
    assert partial.returncode == 1
    assert "qpu.aria-1" in partial.stdout
    (line,) = partial.stderr.splitlines()
    assert line.startswith("ionq-backends: qpu.nope: 404 ")
    assert "request id emu-" in line
    no_traceback(partial)


@pytest.mark.parametrize("version", ["v0.3", "v0.4"])
def test_characterizations(version: str) -> None:
    table = run_cli("characterizations", "qpu.aria-1", "--limit", "12", "--emulator",
                "--api-version", version)  # fmt: skip
    assert table.returncode == 0
    header, *rows = table.stdout.splitlines()
    assert header.split()[:6] == ["DATE", "AGE", "ID", "1Q", "ERR", "2Q"]
    assert len(rows) == 12
    as_json = run_cli("characterizations", "qpu.aria-1", "--limit", "2", "--emulator", "--json",
                  "--api-version", version)  # fmt: skip
    items = json.loads(as_json.stdout)
    assert len(items) == 2
    assert items[0]["timing"]["reset"] == 2e-05
    assert items[0]["fidelity"]["1q"]["statistic"] == ("mean" if version == "v0.3" else "median")


def test_characterizations_none() -> None:
    result = run_cli("characterizations", "simulator", "--emulator")
    assert result.returncode == 0
    assert result.stdout.strip() == "no characterizations for simulator"


@pytest.mark.parametrize(
    "args",
    [["lst"], ["get"], ["list", "--timeout", "0"], ["list", "--api-version", "v9"],
     ["list", "--base-url", "http://example.com"], ["characterizations", "x", "--limit", "0"],
     ["emulator", "--latency", "-1"], ["emulator", "--host", "0.0.0.0"],
     ["best", "--qubits", "4", "--max-calibration-age", "0"]],
)  # fmt: skip
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stderr.strip()
    assert result.stdout == ""
    no_traceback(result)


def test_api_error_exits_1_with_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_cli("list", "--base-url", f"http://127.0.0.1:{port}", "--timeout", "5")
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("ionq-backends: error: ")
    assert "GET /v0.4/backends" in line
    assert result.stdout == ""
    no_traceback(result)


@contextmanager
def silent_host() -> Iterator[tuple[socket.socket, str]]:
    """A listener that accepts connections and never answers: (the socket, its base URL)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener, f"http://127.0.0.1:{listener.getsockname()[1]}"


# Every command that makes requests and then ends, with the arguments it needs.
ONE_SHOT = {
    "list": ["list"],
    "get": ["get", "qpu.aria-1", "qpu.forte-1"],
    "characterizations": ["characterizations", "qpu.aria-1"],
    "best": ["best", "--qubits", "4"],
}


@pytest.mark.parametrize("command", ONE_SHOT)
def test_unresponsive_host_times_out_within_timeout(command: str) -> None:
    """`--timeout 1` bounds the whole command, retries and their backoff included.

    Each attempt alone would time out after 1 s too, but three of them with backoff take 4.5 s:
    only the whole-command deadline ends it this soon, and only it prints "waiting for".
    """
    with silent_host() as (_listener, base_url):
        started = time.monotonic()
        result = run_cli(*ONE_SHOT[command], "--base-url", base_url, "--timeout", "1")
        elapsed = time.monotonic() - started
    assert result.returncode == 1
    # The attempt's own 1 s timer may come due in the same loop turn, and is then named too.
    said = f"ionq-backends: error: timed out after 1s waiting for {base_url}"
    assert result.stderr in (f"{said}\n", f"{said} (last attempt: timed out after 1s)\n")
    assert elapsed < 3.0  # 1 s of waiting plus interpreter start-up; without the deadline, 4.5 s
    no_traceback(result)


def interrupt(command: list[str], started: Callable[[subprocess.Popen[str]], None]) -> int:
    """Run `command`, wait for `started(proc)`, send SIGINT; return the exit status."""
    with child([str(SCRIPT), *command], env=CLEAN_ENV, stdin=subprocess.DEVNULL,
               stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:  # fmt: skip
        started(proc)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=CHILD_TIMEOUT)
    assert "Traceback" not in err
    return proc.returncode


def waits_on(listener: socket.socket) -> Callable[[subprocess.Popen[str]], None]:
    """Returns once the child has connected to `listener`: its request is in flight."""

    def started(proc: subprocess.Popen[str]) -> None:
        listener.settimeout(CHILD_TIMEOUT)
        connection, _ = listener.accept()
        connection.close()  # the listener's backlog keeps the others waiting

    return started


@pytest.mark.parametrize("command", [*ONE_SHOT, "watch", "emulator"])
def test_ctrl_c_exits_130(command: str) -> None:
    """Ctrl-C mid-command exits 130 (128 + SIGINT), as a shell expects, without a traceback."""
    if command == "emulator":

        def serving(proc: subprocess.Popen[str]) -> None:
            assert proc.stdout is not None
            assert "base_url" in read_line(proc.stdout)

        assert interrupt(["emulator", "--port", "0", "--json"], serving) == 130
        return
    args = ONE_SHOT.get(command, ["watch", "qpu.aria-1"])
    with silent_host() as (listener, base_url):
        status = interrupt([*args, "--base-url", base_url, "--timeout", "60"], waits_on(listener))
    assert status == 130


def test_key_is_never_an_argument() -> None:
    assert "key" not in run_cli("list", "--help").stdout.replace("$IONQ_API_KEY", "")


def in_a_tty(*args: str, env: dict[str, str], stream: str = "stdout") -> tuple[str, str]:
    """Run with `stream` on a pseudo-terminal; return (what the terminal showed, the other)."""
    leader, follower = pty.openpty()
    other = {"stdout": "stderr", "stderr": "stdout"}[stream]
    proc = subprocess.Popen([str(SCRIPT), *args], stdin=subprocess.DEVNULL, env=env,
                            **{stream: follower, other: subprocess.PIPE})  # fmt: skip
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + CHILD_TIMEOUT
    try:
        while True:
            # Bounded: a child that keeps the terminal open and silent fails the test.
            ready, _, _ = select.select([leader], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError(f"no output on the terminal for {CHILD_TIMEOUT:g}s")
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
        if proc.poll() is None and time.monotonic() >= deadline:
            proc.kill()
    outputs = proc.communicate(timeout=30)
    rest = outputs[0] if other == "stdout" else outputs[1]
    assert proc.returncode == 0, rest
    return b"".join(chunks).decode(), rest.decode()


def test_status_is_coloured_only_on_a_tty_without_no_color() -> None:
    coloured, _ = in_a_tty("list", "--emulator", env=CLEAN_ENV)
    assert "\x1b[32mavailable" in coloured
    plain, _ = in_a_tty("list", "--emulator", env={**CLEAN_ENV, "NO_COLOR": "1"})
    assert "\x1b[" not in plain
    assert "available" in plain


def test_get_shows_progress_on_a_tty_stderr_only() -> None:
    names = ["qpu.aria-1", "qpu.aria-2", "qpu.forte-1", "qpu.tempo-1"]
    terminal, stdout = in_a_tty("get", *names, "--emulator", env=CLEAN_ENV, stream="stderr")
    assert "fetched 4/4" in terminal
    assert "fetched" not in stdout
    assert [line.split()[0] for line in stdout.splitlines()[1:]] == names
    piped = run_cli("get", *names, "--emulator")
    assert piped.stderr == ""


def test_watch_prints_changes_until_ctrl_c(emulator_url: str) -> None:
    command = [str(SCRIPT), "watch", "qpu.aria-1", "qpu.nope", "--base-url", emulator_url,
               "--interval", "30"]  # fmt: skip
    with child(command, env=CLEAN_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        lines = sorted([read_line(proc.stdout), read_line(proc.stdout)])
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=10)
    assert err == ""  # Ctrl-C ends it without a traceback; its exit status: test_ctrl_c_exits_130
    # Columns padded: the name as `list`'s, the status to the longest one ("unavailable").
    assert f"{'qpu.aria-1':22}  {'available':11}  qubits=25  " in lines[0]
    assert f"{'qpu.nope':22}  {'ERROR':11}  404" in lines[1]
    assert lines[0][:4].isdigit() and lines[0][19] == "Z"  # stamped with the time


def test_watch_json_lines(emulator_url: str) -> None:
    command = [str(SCRIPT), "watch", "qpu.forte-1", "--base-url", emulator_url, "--json"]
    with child(command, env=CLEAN_ENV, stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        event = json.loads(read_line(proc.stdout))
    assert event["name"] == "qpu.forte-1"
    assert event["previous"] is None
    assert event["current"]["qubits"] == 36


def test_watch_json_reports_errors_as_objects(emulator_url: str) -> None:
    """An API error carries its status and request id; a network error has neither."""
    with socket.socket() as sock:  # a port nobody listens on: connection refused
        sock.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{sock.getsockname()[1]}"
    events = {}
    for base_url in (emulator_url, refused):
        command = [str(SCRIPT), "watch", "qpu.nope", "--base-url", base_url, "--json",
                   "--interval", "30"]  # fmt: skip
        with child(command, env=CLEAN_ENV, stdout=subprocess.PIPE) as proc:
            assert proc.stdout is not None
            events[base_url] = json.loads(read_line(proc.stdout))
    api, network = events[emulator_url], events[refused]
    assert (api["name"], api["previous"], api["current"]) == ("qpu.nope", None, None)
    assert set(api["error"]) == {"type", "message", "status_code", "request_id"}
    assert (api["error"]["type"], api["error"]["status_code"]) == ("NotFoundError", 404)
    assert api["error"]["request_id"].startswith("emu-")
    assert api["changed_fields"] == []
    assert set(network["error"]) == {"type", "message"}
    assert network["error"]["type"] == "APIConnectionError"


def test_a_reader_that_goes_away_ends_the_command_quietly() -> None:
    """`ionq-backends list | head -0`: the pipe breaks mid-output; exit 0, no traceback."""
    read, write = os.pipe()
    os.close(read)  # every write to the pipe now fails with EPIPE
    try:
        result = subprocess.run([str(SCRIPT), "list", "--emulator", "--json"], stdout=write,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                                env=CLEAN_ENV, timeout=CHILD_TIMEOUT)  # fmt: skip
    finally:
        os.close(write)
    assert result.returncode == 0
    assert result.stderr == ""  # no traceback, no "Exception ignored ... BrokenPipeError"


def test_emulator_says_where_it_listens() -> None:
    with child(
        [str(SCRIPT), "emulator", "--port", "0"], env=CLEAN_ENV, stdout=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None
        line = read_line(proc.stdout)
    prefix = "IonQ API emulator (v0.3 and v0.4) listening on http://127.0.0.1:"
    assert line.startswith(prefix)
    assert line.removeprefix(prefix).strip().isdigit()


def test_an_unexpected_error_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whatever breaks, the command says what in one line: never a traceback."""

    async def broken(args: object, out: object) -> int:
        raise RuntimeError("no such thing")

    monkeypatch.setitem(cli.COMMANDS, "list", broken)
    assert cli.main(["list", "--emulator"]) == 1
    captured = capsys.readouterr()
    assert captured.err == "ionq-backends: error: unexpected RuntimeError: no such thing\n"
    assert captured.out == ""


@pytest.mark.parametrize(
    ("argv", "meaning"),
    [
        (["list"], "bounds the whole command, retries included"),
        (["serve"], "bounds each attempt of each request to the API"),
    ],
)
def test_timeout_help_says_what_it_bounds_for_each_command(
    argv: list[str], meaning: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cli.parser().parse_args([*argv, "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert meaning in help_text
    other = {"list": "each attempt of each request", "serve": "the whole command"}[argv[0]]
    assert other not in help_text


async def test_strings_no_terminal_can_print_are_escaped_never_fatal(
    ionq_emulator: Emulator,
) -> None:
    """A lone surrogate or a control character from the API: escaped in the table, the rows
    kept. A name no path can carry, typed by hand, is a usage error."""
    ionq_emulator.set_backend("qpu.aria-1", status="avail\ud800able")
    ionq_emulator.set_backend("a\nb\x1b[2J", status="available")
    ionq_emulator.set_backend("..", status="available")

    async def cli(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            str(SCRIPT), *args, "--base-url", ionq_emulator.base_url, env=CLEAN_ENV,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), CHILD_TIMEOUT)
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    code, out, err = await cli("list")
    assert code == 0 and "Traceback" not in err
    assert "avail\\ud800able" in out and "a\\x0ab\\x1b[2J" in out and "qpu.forte-1" in out
    code, out, _ = await cli("list", "--json")
    assert code == 0 and json.loads(out)[0]["status"] == "avail\ud800able"
    code, out, err = await cli("get", "qpu.aria-1", "..")
    assert code == 2 and "expected a backend name, got '..'" in err


def test_the_emulator_refuses_oversized_requests_as_an_http_api_does() -> None:
    """414 for a long request line, 431 for long or many headers, each with IonQ's error body;
    past what aiohttp's parser reads, its 400, and never a traceback on the CLI's stderr."""
    command = [str(SCRIPT), "emulator", "--port", "0", "--json"]
    with child(command, env=CLEAN_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        url = json.loads(read_line(proc.stdout))["base_url"]
        host, port = url.removeprefix("http://").split(":")

        def status_of(request: bytes) -> tuple[int, bytes]:
            with socket.create_connection((host, int(port)), timeout=CHILD_TIMEOUT) as s:
                s.sendall(request)
                answer = b""
                while b"\r\n\r\n" not in answer or len(answer) < 200:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            return int(head.split()[1]), body

        at = b"/v0.4/backends/qpu.aria-1"
        ok, _ = status_of(b"GET " + at + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        long_line, body = status_of(b"GET " + at + b"x" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n")
        long_header, _ = status_of(b"GET " + at + b" HTTP/1.1\r\nHost: a\r\nX-Big: "
                                   + b"y" * 9000 + b"\r\n\r\n")  # fmt: skip
        many = b"".join(b"X-%d: 1\r\n" % i for i in range(150))
        many_headers, _ = status_of(b"GET " + at + b" HTTP/1.1\r\nHost: a\r\n" + many + b"\r\n")
        past_parser, _ = status_of(b"GET /" + b"z" * 70_000 + b" HTTP/1.1\r\nHost: a\r\n\r\n")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert (ok, long_line, long_header, many_headers, past_parser) == (200, 414, 431, 431, 400)
    assert json.loads(body)["statusCode"] == 414
    assert "Traceback" not in err


@pytest.mark.parametrize("command", ["list", "get", "watch", "best", "serve", "emulator"])
def test_help_gives_each_default_once_and_explains_every_option(command: str) -> None:
    result = run_cli(command, "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())  # argparse wraps lines
    assert "(default: None)" not in text and "(default: False)" not in text
    for match in re.finditer(r"\(default: [^)]*\)", text):
        after = text[match.end() :]
        # never two defaults in a row for one option, as "(default: X) (default: X)"
        assert not after.startswith(" (default:"), text
    if command == "best":  # every option has its own help text
        blocks = re.split(r"\n  (?=-)", result.stdout.split("options:")[1])
        assert all(len(block.split()) > 2 for block in blocks[1:]), blocks  # each has help


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list", "--emulator", "--base-url", "http://127.0.0.1:1"],
         "--base-url and --emulator contradict each other"),
        (["list", "--emulator", "--verbose-status"], "--verbose-status does not exist in API v0.4"),
        (["emulator", "--host", "0.0.0.0"], "--host 0.0.0.0: the emulator listens on loopback"),
    ],
)  # fmt: skip
def test_usage_errors_name_flags_never_python_parameters(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "verbose_status" not in result.stderr and "allow_remote" not in result.stderr
    no_traceback(result)


def test_get_json_holds_each_failed_name_with_its_error(emulator_url: str) -> None:
    result = run_cli("get", "qpu.aria-1", "qpu.nope", "--base-url", emulator_url, "--json")
    assert result.returncode == 1
    aria, nope = json.loads(result.stdout)
    assert aria["name"] == "qpu.aria-1" and "error" not in aria
    assert nope["name"] == "qpu.nope"
    assert nope["error"]["type"] == "NotFoundError" and nope["error"]["status_code"] == 404
    assert nope["error"]["request_id"].startswith("emu-")
    every = run_cli("get", "qpu.nope", "qpu.gone", "--base-url", emulator_url, "--json")
    assert [item["error"]["status_code"] for item in json.loads(every.stdout)] == [404, 404]
