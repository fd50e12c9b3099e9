"""The public surface: pinned names, constructor rules, and the aioresponses shim's lifetime."""

from __future__ import annotations

import aiohttp
import aioresponses.core
import pytest
from yarl import URL

import ionq_backends
from ionq_backends import IonQClient

from .conftest import SECRET, ShimClientResponse, shim_needed


def test_all_is_pinned() -> None:
    assert sorted(ionq_backends.__all__) == sorted([
        "APIConnectionError", "APIStatusError", "APITimeoutError", "AuthenticationError",
        "BadRequestError", "Backend", "BackendChange", "BackendName", "BackendStatus",
        "BackendsSnapshot", "Characterization", "CharacterizationPage", "FidelityStat",
        "IonQClient", "IonQError", "NotFoundError", "PermissionDeniedError", "PollRound",
        "RateLimitError", "RawResponse", "format_age", "format_duration",
        "ResponseValidationError", "ServerError", "Timing", "__version__", "make_converter",
        # Fleet views:
        "select", "least_busy", "ErrorRate", "CircuitShape", "estimate_success",
        "RankedBackend", "rank_for_circuit", "CharacterizationsSnapshot",
    ])  # fmt: skip
    for name in ionq_backends.__all__:
        assert hasattr(ionq_backends, name), name


def test_backend_name_is_the_six_of_the_seed() -> None:
    assert [str(n) for n in ionq_backends.BackendName] == [
        "qpu.aria-1", "qpu.aria-2", "qpu.forte-1", "qpu.forte-enterprise-1",
        "qpu.forte-enterprise-2", "qpu.forte-enterprise-3",
    ]  # fmt: skip


def test_backend_status_has_the_eight_known_values() -> None:
    assert {str(s) for s in ionq_backends.BackendStatus} == {
        "available", "unavailable", "retired", "degraded", "running", "reserved", "calibrating",
        "offline",
    }  # fmt: skip


def test_import_does_not_pull_in_the_server_or_cli() -> None:
    import subprocess
    import sys

    heavy = ("aiohttp.web", "ionq_backends.emulator", "ionq_backends._cli", "argparse")
    code = f"import sys, ionq_backends; print(sorted(m for m in sys.modules if m in {heavy}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=60)  # fmt: skip
    assert out.stdout.strip() == "[]"


def test_key_from_env_and_never_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IONQ_API_KEY", SECRET)
    client = IonQClient()
    assert client._transport._headers["Authorization"] == f"apiKey {SECRET}"
    assert SECRET not in repr(client)
    assert SECRET not in repr(client._transport)
    assert SECRET not in repr(vars(client))
    # Even the headers handed to aiohttp, as a traceback with captured locals would show them:
    assert SECRET not in repr(vars(client._transport))
    assert SECRET not in repr(client._transport._headers)


def test_argument_key_wins_over_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IONQ_API_KEY", "from-env")
    assert IonQClient("given")._transport._headers["Authorization"] == "apiKey given"


def test_no_key_sends_no_authorization(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IONQ_API_KEY", raising=False)
    assert "Authorization" not in IonQClient()._transport._headers


def test_base_url_from_env_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IONQ_BASE_URL", raising=False)
    assert IonQClient().base_url == "https://api.ionq.co"
    monkeypatch.setenv("IONQ_BASE_URL", "http://127.0.0.1:9/")
    assert IonQClient().base_url == "http://127.0.0.1:9"
    assert IonQClient(base_url="https://proxy.example/ionq").base_url == (
        "https://proxy.example/ionq"
    )


@pytest.mark.parametrize("version", ["v0.2", "0.4", "", "V0.4"])
def test_unknown_api_version(version: str) -> None:
    with pytest.raises(ValueError, match="api_version"):
        IonQClient(api_version=version)


@pytest.mark.parametrize(
    "url",
    ["http://api.ionq.co", "http://10.0.0.5:8080", "ftp://127.0.0.1", "https://u:p@h.example"],
)
def test_refused_base_urls(url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        IonQClient(base_url=url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1"])
def test_loopback_http_is_allowed(url: str) -> None:
    assert IonQClient(base_url=url).base_url.startswith("http://")


def test_timeout_float_and_client_timeout() -> None:
    timeout = IonQClient(timeout=30.0)._transport._timeout
    assert (timeout.total, timeout.connect, timeout.sock_read) == (30.0, 10.0, 30.0)
    short = IonQClient(timeout=2.0)._transport._timeout
    assert (short.total, short.connect, short.sock_read) == (2.0, 2.0, 2.0)
    given = aiohttp.ClientTimeout(total=5, sock_connect=1)
    assert IonQClient(timeout=given)._transport._timeout is given
    with pytest.raises(ValueError, match="timeout"):
        IonQClient(timeout=0)


def test_bad_concurrency_and_verbose_on_v04() -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        IonQClient(max_concurrency=0)
    with pytest.raises(ValueError, match="verbose_status"):
        IonQClient(verbose_status=True)


def test_aioresponses_shim_still_needed() -> None:
    """Fails when aioresponses builds aiohttp's ClientResponse by itself: then drop the shim."""
    match = aioresponses.core.RequestMatch("http://127.0.0.1/")
    try:
        match._build_response(URL("http://127.0.0.1/"), response_class=aiohttp.ClientResponse)
    except TypeError as exc:
        assert "stream_writer" in str(exc)
        broken = True
    else:
        broken = False
    assert broken == shim_needed(), "aioresponses no longer needs the shim: remove it from conftest"
    installed = aioresponses.core.ClientResponse is ShimClientResponse
    assert installed == broken
