"""HTTP-level unit tests of IonQClient with aioresponses (no sockets)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aioresponses import aioresponses

from ionq_backends import (
    APIStatusError,
    AuthenticationError,
    Backend,
    BackendsSnapshot,
    IonQClient,
    IonQError,
    NotFoundError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
)

from .conftest import SECRET

BASE = "https://api.ionq.co"
V4 = f"{BASE}/v0.4"


def wire(name: str, status: str = "available") -> dict[str, object]:
    return {"backend": name, "status": status, "qubits": 25, "average_queue_time": 1000,
            "last_updated": "2025-06-16T00:00:00Z"}  # fmt: skip


@pytest.fixture
def mocked() -> AsyncIterator[aioresponses]:
    with aioresponses() as mock:
        yield mock


@pytest.fixture
async def client(fake_sleep: Callable[[float], Awaitable[None]]) -> AsyncIterator[IonQClient]:
    async with IonQClient(SECRET, sleep=fake_sleep, random=lambda: 0.5) as c:
        yield c


async def test_get_backend_sends_key_and_structures(
    mocked: aioresponses, client: IonQClient
) -> None:
    mocked.get(f"{V4}/backends/qpu.aria-1", payload=wire("qpu.aria-1"),
               headers={"x-request-id": "r1"})  # fmt: skip
    backend = await client.get_backend("qpu.aria-1")
    assert backend.name == "qpu.aria-1"
    (((_method, _url), calls),) = mocked.requests.items()
    assert calls[0].kwargs["headers"]["Authorization"] == f"apiKey {SECRET}"
    assert calls[0].kwargs["allow_redirects"] is False


async def test_list_backends(mocked: aioresponses, client: IonQClient) -> None:
    mocked.get(f"{V4}/backends", payload=[wire("a"), wire("b", "retired")])
    backends = await client.list_backends()
    assert [b.name for b in backends] == ["a", "b"]
    assert all(isinstance(b, Backend) for b in backends)


async def test_list_backends_one_malformed_item_fails_the_call_with_every_problem(
    mocked: aioresponses, client: IonQClient
) -> None:
    bad = {**wire("b"), "last_updated": "yesterday", "qubits": "x"}
    mocked.get(f"{V4}/backends", payload=[wire("a"), bad, {"status": 1}],
               headers={"x-request-id": "req-9"})  # fmt: skip
    async with IonQClient(base_url=BASE, strict=True) as strict:
        with pytest.raises(ResponseValidationError) as info:
            await strict.list_backends()
    assert info.value.errors == (
        '$[1].qubits: expected integer, got "x"',
        '$[1].last_updated: expected ISO-8601 datetime, got "yesterday"',
        "$[2].backend: required field missing",
        "$[2].status: expected string, got 1",
    )
    assert info.value.request_id == "req-9"
    assert "GET /v0.4/backends" in str(info.value)


async def test_get_backends_default_names_and_partial_failure(
    mocked: aioresponses, client: IonQClient
) -> None:
    names = ["qpu.aria-1", "qpu.aria-2", "qpu.forte-1", "qpu.forte-enterprise-1",
             "qpu.forte-enterprise-2", "qpu.forte-enterprise-3"]  # fmt: skip
    for name in names:
        if name == "qpu.aria-2":
            mocked.get(f"{V4}/backends/{name}", status=404,
                       payload={"message": "nope", "statusCode": 404})  # fmt: skip
        elif name == "qpu.forte-1":
            mocked.get(f"{V4}/backends/{name}", payload={**wire(name), "status": True})
        else:
            mocked.get(f"{V4}/backends/{name}", payload=wire(name))
    before = datetime.now(UTC)
    snapshot = await client.get_backends()
    after = datetime.now(UTC)
    assert isinstance(snapshot, BackendsSnapshot)
    assert list(snapshot) == [n for n in names if n not in ("qpu.aria-2", "qpu.forte-1")]
    assert isinstance(snapshot.errors["qpu.aria-2"], NotFoundError)
    assert isinstance(snapshot.errors["qpu.forte-1"], ResponseValidationError)
    assert snapshot.fetched_at is not None and snapshot.fetched_at.tzinfo is UTC
    assert before <= snapshot.fetched_at <= after  # when this call fetched, not some other time
    with pytest.raises(ExceptionGroup) as group:
        snapshot.raise_for_errors()
    assert {type(e) for e in group.value.exceptions} == {NotFoundError, ResponseValidationError}


async def test_snapshot_without_errors_raises_nothing(
    mocked: aioresponses, client: IonQClient
) -> None:
    mocked.get(f"{V4}/backends/x", payload=wire("x"))
    snapshot = await client.get_backends(["x", "x"])  # duplicates asked once
    snapshot.raise_for_errors()
    assert dict(snapshot) == {"x": snapshot["x"]}
    assert len(mocked.requests) == 1


async def test_v03_get_backend_picks_from_the_list(
    mocked: aioresponses, fake_sleep: Callable[[float], Awaitable[None]]
) -> None:
    v3 = [{"backend": "qpu.aria-1", "status": "available", "last_updated": 1490932820},
          {"backend": "qpu.broken", "status": ["available"]}]  # fmt: skip
    mocked.get(f"{BASE}/v0.3/backends", payload=v3, repeat=True)
    async with IonQClient(api_version="v0.3", sleep=fake_sleep) as client:
        assert (await client.get_backend("qpu.aria-1")).name == "qpu.aria-1"
        with pytest.raises(NotFoundError, match=r"qpu\.zzz"):
            await client.get_backend("qpu.zzz")
        with pytest.raises(ResponseValidationError, match=re.escape("$[1].status")):
            await client.get_backend("qpu.broken")
        snapshot = await client.get_backends(["qpu.aria-1", "qpu.broken", "qpu.zzz"])
    assert list(snapshot) == ["qpu.aria-1"]
    assert set(snapshot.errors) == {"qpu.broken", "qpu.zzz"}
    # One list request serves the whole v0.3 fan-out.
    assert len(next(iter(mocked.requests.values()))) == 4


async def test_v03_verbose_status_query(
    mocked: aioresponses, fake_sleep: Callable[[float], Awaitable[None]]
) -> None:
    mocked.get(f"{BASE}/v0.3/backends?status=verbose",
               payload=[{"backend": "a", "status": "calibrating"}])  # fmt: skip
    mocked.get(f"{BASE}/v0.3/backends?status=verbose",
               payload=[{"backend": "a", "status": "running"}], repeat=True)  # fmt: skip
    async with IonQClient(api_version="v0.3", verbose_status=True, sleep=fake_sleep) as client:
        (backend,) = await client.list_backends()
        one = await client.get_backend("a")  # v0.3 picks it from the verbose list too
        named = await client.get_backends(["a"])  # and so does a fan-out, by name
        fleet = await client.get_backends()  # and the whole fleet's list
    assert (backend.status, one.status) == ("calibrating", "running")
    assert named["a"].status == fleet["a"].status == "running"


async def test_retries_503_then_succeeds(
    mocked: aioresponses, client: IonQClient, sleeps: list[float]
) -> None:
    mocked.get(f"{V4}/backends/x", status=503, body="")
    mocked.get(f"{V4}/backends/x", status=502, body="<html><title>Bad gateway</title></html>")
    mocked.get(f"{V4}/backends/x", payload=wire("x"))
    assert (await client.get_backend("x")).name == "x"
    assert sleeps == [0.5, 1.0]


async def test_gives_up_after_max_retries(
    mocked: aioresponses, client: IonQClient, sleeps: list[float]
) -> None:
    for _ in range(3):
        mocked.get(f"{V4}/backends/x", status=500, headers={"x-request-id": "last"},
                   payload={"error": "Server Error", "message": "boom"})  # fmt: skip
    with pytest.raises(ServerError) as info:
        await client.get_backend("x")
    assert info.value.status_code == 500
    assert info.value.request_id == "last"
    assert info.value.message == "boom"
    assert len(sleeps) == 2


async def test_429_retry_after_is_honoured(
    mocked: aioresponses, client: IonQClient, sleeps: list[float]
) -> None:
    mocked.get(f"{V4}/backends/x", status=429, headers={"Retry-After": "7"})
    mocked.get(f"{V4}/backends/x", payload=wire("x"))
    await client.get_backend("x")
    assert sleeps == [7.0]


async def test_429_past_the_cap_raises_at_once(
    mocked: aioresponses, client: IonQClient, sleeps: list[float]
) -> None:
    mocked.get(f"{V4}/backends/x", status=429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimitError) as info:
        await client.get_backend("x")
    assert info.value.retry_after == 3600.0
    assert sleeps == []


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_other_4xx_are_never_retried(
    mocked: aioresponses, client: IonQClient, sleeps: list[float], status: int
) -> None:
    # repeat: a 401 on a public endpoint is asked once more without the key.
    mocked.get(f"{V4}/backends/x", status=status, payload={"message": "no"}, repeat=True)
    with pytest.raises(APIStatusError) as info:
        await client.get_backend("x")
    assert info.value.status_code == status
    assert sleeps == []


async def test_authentication_error_never_carries_the_key(
    mocked: aioresponses, client: IonQClient
) -> None:
    mocked.get(f"{V4}/backends/x", status=401, repeat=True,
               payload={"error": "Unauthorized", "message": "bad key"})  # fmt: skip
    with pytest.raises(AuthenticationError) as info:
        await client.get_backend("x")
    for text in (str(info.value), repr(info.value), repr(vars(info.value))):
        assert SECRET not in text


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("not json", "$: invalid JSON"),
        ("", "$: empty body, expected JSON"),
        ("null", "$: expected backend object, got null"),
        ("[]", "$: expected backend object, got []"),
        ("<html>oops</html>", "$: invalid JSON"),
    ],
)
async def test_bad_200_bodies_are_validation_errors(
    mocked: aioresponses, client: IonQClient, body: str, problem: str
) -> None:
    mocked.get(f"{V4}/backends/x", status=200, body=body)
    with pytest.raises(ResponseValidationError) as info:
        await client.get_backend("x")
    assert info.value.errors[0].startswith(problem)


@pytest.mark.parametrize("name", ["", ".", "..", "\ud800", "a\udfffb"])
async def test_a_name_no_path_can_carry_is_refused_before_any_request(
    mocked: aioresponses, client: IonQClient, name: str
) -> None:
    with pytest.raises(ValueError, match="backend name"):
        await client.get_backend(name)
    assert mocked.requests == {}


@pytest.mark.parametrize("name", ["", ".", "..", "\ud800", "a\udfffb"])
async def test_in_a_fan_out_such_a_name_is_its_own_error(
    mocked: aioresponses, client: IonQClient, name: str
) -> None:
    """A fan-out's names are data (often the API's own list): one bad name costs no other."""
    mocked.get(f"{V4}/backends/qpu.aria-1", payload=wire("qpu.aria-1"))
    snapshot = await client.get_backends(["qpu.aria-1", name])
    assert list(snapshot) == ["qpu.aria-1"]
    error = snapshot.errors[name]
    assert isinstance(error, IonQError) and "invalid backend name" in str(error)
    assert len(mocked.requests) == 1  # the bad name was never sent


async def test_names_are_quoted_as_one_segment(mocked: aioresponses, client: IonQClient) -> None:
    mocked.get(f"{V4}/backends/a%2Fb%3Fc", payload=wire("a/b?c"))
    assert (await client.get_backend("a/b?c")).name == "a/b?c"


async def test_an_error_names_the_path_as_sent_its_segments_still_quoted(
    mocked: aioresponses, client: IonQClient
) -> None:
    """`a/b` is one segment: decoded, the path would read as two."""
    mocked.get(f"{V4}/backends/a%2Fb", status=404, payload={"message": "no such backend"})
    with pytest.raises(NotFoundError) as caught:
        await client.get_backend("a/b")
    assert caught.value.path == "/v0.4/backends/a%2Fb"
    assert "(GET /v0.4/backends/a%2Fb" in str(caught.value)


async def test_one_string_is_not_a_list_of_names(client: IonQClient) -> None:
    with pytest.raises(TypeError, match="iterable of names"):
        await client.get_backends("qpu.aria-1")


async def test_closed_client_refuses_calls(client: IonQClient) -> None:
    await client.close()
    await client.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        await client.get_backends()
