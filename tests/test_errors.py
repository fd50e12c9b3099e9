"""Error bodies in every shape IonQ and its proxies send, and the error classes' faces."""

from __future__ import annotations

import pickle

import pytest

from ionq_backends import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    IonQError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
)
from ionq_backends._errors import error_for_status
from ionq_backends._wire.response import parse_error_body


@pytest.mark.parametrize(
    ("status", "body", "message", "error_type"),
    [
        (404, b'{"error": "Not Found", "message": "Backend qpu.x not found", "statusCode": 404}',
         "Backend qpu.x not found", "Not Found"),
        (400, b'{"error": "Bad Request", "message": "Invalid query", "statusCode": 400,'
              b' "validation": {"source": "querystring", "keys": ["limit"]}}',
         'Invalid query (validation: {"keys": ["limit"], "source": "querystring"})', "Bad Request"),
        (401, b'{"error": {"type": "AuthorizationError", "message": "Invalid key"}}',
         "Invalid key", "AuthorizationError"),
        (429, b'{"code": 429, "message": "Slow down"}', "Slow down", "429"),
        (502, b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
         "502 Bad Gateway", None),
        (522, b"<!DOCTYPE html><html><body>Connection timed out</body></html>",
         "Unknown status", None),
        (503, b"", "Service Unavailable", None),
        (503, b"   \n", "Service Unavailable", None),
        (500, b"upstream exploded\n", "upstream exploded", None),
        (500, b"[1, 2]", "Internal Server Error", None),
        (409, b'{"error": "Conflict"}', "Conflict", "Conflict"),
    ],
)  # fmt: skip
def test_parse_error_body(status: int, body: bytes, message: str, error_type: str | None) -> None:
    parsed_message, parsed_type, _kept = parse_error_body(status, body)
    assert parsed_message == message
    assert parsed_type == error_type


def test_html_body_is_kept_as_bounded_text() -> None:
    _message, _type, kept = parse_error_body(502, b"<html>" + b"x" * 10_000)
    assert isinstance(kept, str)
    assert len(kept) == 2048


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (429, RateLimitError),
        (500, ServerError),
        (503, ServerError),
        (524, ServerError),
        (409, APIStatusError),
        (418, APIStatusError),
    ],
)
def test_error_for_status(status: int, cls: type[APIStatusError]) -> None:
    assert error_for_status(status) is cls


def test_hierarchy() -> None:
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APIConnectionError, IonQError)
    for cls in (BadRequestError, AuthenticationError, PermissionDeniedError, NotFoundError,
                RateLimitError, ServerError):  # fmt: skip
        assert issubclass(cls, APIStatusError)
    assert issubclass(APIStatusError, IonQError)
    assert issubclass(ResponseValidationError, IonQError)


def test_status_error_repr_shows_status_message_request_id_only() -> None:
    error = NotFoundError(
        "Backend qpu.x not found",
        status_code=404,
        error_type="Not Found",
        request_id="req-1",
        body={"secret-ish": "body"},
        method="GET",
        path="/v0.4/backends/qpu.x",
    )
    assert repr(error) == (
        "NotFoundError(status_code=404, message='Backend qpu.x not found', request_id='req-1')"
    )
    assert str(error) == "404 Backend qpu.x not found (GET /v0.4/backends/qpu.x, request id req-1)"


def test_errors_pickle_and_hold_plain_data() -> None:
    error = RateLimitError("slow", status_code=429, retry_after=3.0, request_id="r")
    clone = pickle.loads(pickle.dumps(error))
    assert isinstance(clone, RateLimitError)
    assert vars(clone) == vars(error)


def test_validation_error_lists_problems() -> None:
    error = ResponseValidationError(["$[3].last_updated: expected ISO-8601 datetime, got 17"])
    assert str(error) == ("invalid response: $[3].last_updated: expected ISO-8601 datetime, got 17")
    placed = error.with_context(method="GET", path="/v0.4/backends", request_id="abc")
    assert str(placed).endswith("(GET /v0.4/backends, request id abc)")
    assert placed.errors == error.errors
