"""The call loop's error boundary and its collectors: `as_ionq_error`, `collect`, `settle`."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from ionq_backends import APIConnectionError, APITimeoutError, IonQError, ResponseValidationError
from ionq_backends._call import as_ionq_error, collect, settle


@pytest.mark.parametrize(
    ("exc", "kind", "message"),
    [
        (TimeoutError(), APITimeoutError, "timed out after 5s"),
        (aiohttp.ServerDisconnectedError(), APIConnectionError, "Server disconnected"),
        (KeyError("boom"), IonQError, "unexpected KeyError: 'boom'"),
    ],
)
def test_as_ionq_error_maps_each_kind_and_keeps_the_cause(
    exc: Exception, kind: type[IonQError], message: str
) -> None:
    error = as_ionq_error(exc, timeout=5.0)
    assert type(error) is kind
    assert message in error.message
    assert error.__cause__ is exc


def test_a_parser_surprise_is_a_validation_error_only_while_parsing() -> None:
    exc = ValueError("bad")
    assert type(as_ionq_error(exc)) is IonQError
    parsed = as_ionq_error(exc, parsing=True)
    assert isinstance(parsed, ResponseValidationError)
    assert parsed.problems == (("", "unreadable body (ValueError: bad)"),)


def test_an_ionq_error_passes_as_itself() -> None:
    error = IonQError("x")
    assert as_ionq_error(error) is error


def test_collect_keeps_order_and_each_failure_its_own() -> None:
    boom = KeyError("boom")

    def call(key: str) -> int:
        if key == "b":
            raise boom
        return len(key)

    found, errors = collect(["aa", "b", "c", "aa"], call)
    assert list(found.items()) == [("aa", 2), ("c", 1)]
    assert list(errors) == ["b"] and errors["b"].__cause__ is boom


async def test_settle_runs_every_call_at_once_and_keeps_each_outcome() -> None:
    started: list[str] = []
    every = asyncio.Event()

    async def call(key: str) -> str:
        started.append(key)
        if len(started) == 3:
            every.set()
        await every.wait()  # only ends if all three run at once
        if key == "bad":
            raise RuntimeError("boom")
        return key.upper()

    found, errors = await settle(["a", "bad", "c"], call)
    assert found == {"a": "A", "c": "C"}
    assert errors["bad"].message == "unexpected RuntimeError: boom"
    assert isinstance(errors["bad"].__cause__, RuntimeError)
