"""What users of the best-loved SDKs expect: per-call options, raw responses, headers,
a logging switch, the whole fleet, and a CLI that explains itself."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from ionq_backends import (
    APIConnectionError,
    AuthenticationError,
    BackendName,
    IonQClient,
    NotFoundError,
    RawResponse,
    ServerError,
    __version__,
)
from ionq_backends._constants import USER_AGENT
from ionq_backends._logging import enable_from_env, logger
from ionq_backends.emulator import Emulator

from .conftest import SECRET
from .factories import CLEAN_ENV, run_cli

# Per-call options and raw access


async def test_with_options_shares_the_pool_and_changes_only_what_it_names() -> None:
    async with Emulator() as emulator:
        async with IonQClient(base_url=emulator.base_url, max_retries=2) as client:
            quick = client.with_options(max_retries=0, timeout=5)
            emulator.inject("/v0.4/backends/qpu.aria-1", status=503, times=1)
            with pytest.raises(ServerError):
                await quick.get_backend("qpu.aria-1")  # no retry on the derived client
            assert (await client.get_backend("qpu.aria-1")).qubits == 25  # the original's 2
            assert quick._transport._get_session() is client._transport._get_session()
            await quick.close()  # leaves the original open
            assert (await client.get_backend("qpu.forte-1")).qubits == 36
            other = client.with_options(timeout=5)
        with pytest.raises(RuntimeError, match="closed"):  # closing the original closes both
            await other.get_backend("qpu.aria-1")
    assert quick._transport.timeout.total == 5.0
    assert client._transport.timeout.total == 30.0


async def test_raw_response_carries_the_http_facts_of_a_success() -> None:
    async with Emulator() as emulator:
        emulator.inject("/v0.4/backends/qpu.aria-1", status=503, times=1)
        async with IonQClient(base_url=emulator.base_url, sleep=_no_wait) as client:
            raw = await client.with_raw_response.get_backend("qpu.aria-1")
            listed = await client.with_raw_response.list_backends()
            one = await client.with_raw_response.get_characterization(
                "qpu.aria-1", raw.parsed.characterization_id or ""
            )
    assert isinstance(raw, RawResponse)
    assert (raw.parsed.name, raw.status, raw.attempts) == ("qpu.aria-1", 200, 2)
    assert raw.request_id and raw.request_id == raw.headers["x-request-id"]
    assert raw.path == "/v0.4/backends/qpu.aria-1" and raw.elapsed > 0
    assert len(listed.parsed) == len(emulator.fleet) and listed.attempts == 1
    assert one.parsed.backend == "qpu.aria-1"


async def _no_wait(delay: float) -> None:
    pass


async def test_default_headers_and_a_user_agent_suffix_reach_the_server() -> None:
    async with Emulator() as emulator:
        async with IonQClient(base_url=emulator.base_url, user_agent="my-router/2.1",
                              default_headers={"X-Team": "routing"}) as client:  # fmt: skip
            await client.get_backend("qpu.aria-1")
    (seen,) = emulator.requests
    assert seen.headers["User-Agent"] == f"{USER_AGENT} my-router/2.1"
    assert seen.headers["X-Team"] == "routing"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"default_headers": {"Authorization": "apiKey x"}}, ValueError),
     ({"default_headers": {"X-A": "a\r\nb"}}, ValueError),
     ({"user_agent": "bad\nagent"}, ValueError), ({"user_agent": 3}, TypeError)],
)  # fmt: skip
def test_header_options_are_checked(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        IonQClient(**kwargs)  # type: ignore[arg-type]


# Logging switch


def test_ionq_log_prints_the_package_log_lines_without_code() -> None:
    code = ("import asyncio, ionq_backends as iq\n"
            "from ionq_backends.emulator import Emulator\n"
            "async def main():\n"
            "    async with Emulator() as emu:\n"
            "        emu.inject('/v0.4/backends/qpu.aria-1', status=503)\n"
            f"        async with iq.IonQClient({SECRET!r}, base_url=emu.base_url,\n"
            "                                  sleep=lambda d: asyncio.sleep(0)) as c:\n"
            "            await c.get_backend('qpu.aria-1')\n"
            "asyncio.run(main())\n")  # fmt: skip
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=60, env=CLEAN_ENV)  # fmt: skip
    loud = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**CLEAN_ENV, "IONQ_LOG": "debug"})  # fmt: skip
    assert quiet.returncode == loud.returncode == 0
    assert quiet.stderr == ""
    assert "DEBUG ionq_backends: GET /v0.4/backends/qpu.aria-1 -> 503 attempt=1" in loud.stderr
    assert "INFO ionq_backends: retrying GET /v0.4/backends/qpu.aria-1 in" in loud.stderr
    assert "-> 200 attempt=2" in loud.stderr
    assert SECRET not in loud.stderr


def test_an_unknown_ionq_log_level_is_ignored() -> None:
    before = list(logger.handlers)
    assert enable_from_env("loud") is None
    assert enable_from_env(None) is None
    assert logger.handlers == before
    assert logger.level in (logging.NOTSET, logging.DEBUG, logging.INFO)


# The whole fleet


@pytest.mark.parametrize("version", ["v0.3", "v0.4"])
async def test_the_whole_fleet_is_one_list_request_plus_the_names_it_left_out(
    version: str,
) -> None:
    async with Emulator() as emulator:
        emulator.remove_backend("qpu.forte-enterprise-3")
        async with IonQClient(base_url=emulator.base_url, api_version=version) as client:
            snapshot = await client.get_backends()
    assert set(snapshot) == set(emulator.fleet)
    assert isinstance(snapshot.errors["qpu.forte-enterprise-3"], NotFoundError)
    paths = [r.path for r in emulator.requests]
    if version == "v0.4":
        assert paths == ["/v0.4/backends", "/v0.4/backends/qpu.forte-enterprise-3"]
    else:  # v0.3 has no single-backend path: the list already answered for every name
        assert paths == ["/v0.3/backends"]


async def test_a_failing_list_falls_back_to_each_known_name() -> None:
    async with Emulator() as emulator:
        emulator.inject("/v0.4/backends", status=500, times=3)
        async with IonQClient(base_url=emulator.base_url, sleep=_no_wait) as client:
            snapshot = await client.get_backends()
    assert list(snapshot) == list(BackendName)
    assert not snapshot.errors


@pytest.mark.parametrize("version", ["v0.3", "v0.4"])
async def test_has_access_means_the_same_in_both_versions(version: str) -> None:
    async with Emulator(api_key=None) as emulator:
        async with IonQClient(base_url=emulator.base_url, api_version=version) as anonymous:
            without = await anonymous.get_backend("qpu.aria-1")
        async with IonQClient(SECRET, base_url=emulator.base_url, api_version=version) as keyed:
            with_key = await keyed.get_backend("qpu.aria-1")
    assert (without.has_access, with_key.has_access) == (False, True)


# The CLI explains itself


def test_version_and_help_with_defaults() -> None:
    version = run_cli("--version")
    assert version.returncode == 0
    assert version.stdout.strip() == f"ionq-backends {__version__}"
    help_text = " ".join(run_cli("watch", "--help").stdout.split())  # unwrapped
    assert "(default: 60.0)" in help_text and "(default: 30.0)" in help_text
    assert "--verbose-status" in help_text and "-v, --verbose" in help_text


def test_verbose_flag_prints_the_log_lines() -> None:
    result = run_cli("list", "--emulator", "-vv")
    assert result.returncode == 0
    assert "DEBUG ionq_backends: GET /v0.4/backends -> 200 attempt=1" in result.stderr


def test_verbose_status_on_v03() -> None:
    result = run_cli("list", "--emulator", "--api-version", "v0.3", "--verbose-status", "--json")
    assert result.returncode == 0, result.stderr
    assert '"status": "calibrating"' in result.stdout  # qpu.aria-2's verbose status
    refused = run_cli("list", "--emulator", "--verbose-status")
    assert refused.returncode == 2 and "--verbose-status" in refused.stderr


def test_a_bad_number_names_the_value_not_a_function() -> None:
    result = run_cli("list", "--timeout", "abc")
    assert result.returncode == 2
    assert "expected a finite number > 0, got 'abc'" in result.stderr
    assert "_positive" not in result.stderr and "invalid" not in result.stderr.split(":")[-1]


def test_a_get_where_every_name_failed_prints_no_empty_table() -> None:
    result = run_cli("get", "qpu.nope-1", "qpu.nope-2", "--emulator")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("404") == 2


@pytest.fixture
def refused_port() -> Iterator[int]:
    with socket.socket() as sock:  # bound but not listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_a_refused_connection_reads_as_its_cause(refused_port: int) -> None:
    base = f"http://127.0.0.1:{refused_port}"
    result = run_cli("list", "--base-url", base, "--timeout", "20")
    assert result.returncode == 1
    assert f"connection refused to 127.0.0.1:{refused_port}" in result.stderr
    assert "ssl:default" not in result.stderr
    # A deadline shorter than the retries says what the last attempt met.
    short = run_cli("list", "--base-url", base, "--timeout", "0.3")
    assert short.returncode == 1
    assert "timed out after 0.3s" in short.stderr
    assert f"(last attempt: connection refused to 127.0.0.1:{refused_port})" in short.stderr


async def test_last_failure_names_the_latest_failed_attempt(refused_port: int) -> None:
    async with IonQClient(base_url=f"http://127.0.0.1:{refused_port}", sleep=_no_wait) as c:
        assert c.last_failure is None
        with pytest.raises(APIConnectionError):
            await c.list_backends()
        assert c.last_failure is not None and "connection refused" in c.last_failure.message


def test_a_key_rejected_everywhere_is_still_an_authentication_error() -> None:
    assert issubclass(AuthenticationError, Exception)  # kept: the CLI reports it as exit 1
