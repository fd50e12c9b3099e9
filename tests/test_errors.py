"""Error bodies in every shape IonQ and its proxies send, and the error classes' faces."""

from __future__ import annotations

import json
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
from ionq_backends._constants import MAX_ERROR_BODY_DEPTH
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


# Each error's faces, whole (mutation testing: every attribute a caller or a log line reads).


def test_an_error_is_its_message_and_says_where_only_when_it_knows() -> None:
    error = IonQError("boom")
    assert error.args == ("boom",)
    assert (str(error), repr(error)) == ("boom", "IonQError('boom')")
    assert repr(APITimeoutError("slow")) == "APITimeoutError('slow')"
    assert str(IonQError("boom", path="/v0.4/backends")) == "boom"  # a path without a method
    assert str(IonQError("boom", method="GET")) == "boom"
    assert str(IonQError("boom", request_id="r")) == "boom (request id r)"
    assert str(IonQError("boom", method="GET", path="/p")) == "boom (GET /p)"


def test_a_status_error_keeps_what_the_server_said() -> None:
    error = BadRequestError("bad", status_code=400, error_type="Bad Request",
                            body={"error": "Bad Request"}, retry_after=None)  # fmt: skip
    assert (error.status_code, error.error_type, error.body) == (
        400, "Bad Request", {"error": "Bad Request"}
    )  # fmt: skip
    assert error.args == ("bad",)


@pytest.mark.parametrize(
    "error",
    [IonQError("boom", method="GET", path="/p", request_id="r"),
     RateLimitError("slow", status_code=429, retry_after=3.0, error_type="t", body=[1]),
     ResponseValidationError([(".a", "x"), (".b", "y")], request_id="r")],
    ids=lambda e: type(e).__name__,
)  # fmt: skip
def test_a_pickled_error_is_the_same_error(error: IonQError) -> None:
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error)
    assert vars(clone) == vars(error)
    assert clone.args == error.args == (error.message,)
    assert (str(clone), repr(clone)) == (str(error), repr(error))


def test_a_validation_error_counts_and_joins_its_problems() -> None:
    one = ResponseValidationError([(".a", "x")], method="GET", path="/p", request_id="r")
    assert one.message == "invalid response: $.a: x"
    assert (one.method, one.path, one.request_id) == ("GET", "/p", "r")
    two = ResponseValidationError([(".a", "x"), ("[1]", "y")])
    assert two.message == "invalid response, 2 problems: $.a: x; $[1]: y"


def test_a_validation_error_moved_under_a_prefix_keeps_where_it_came_from() -> None:
    error = ResponseValidationError([(".a", "x")], method="GET", path="/p", request_id="r")
    moved = error.under("[3]")
    assert moved.problems == (("[3].a", "x"),)
    assert (moved.method, moved.path, moved.request_id) == ("GET", "/p", "r")


def test_a_rendered_problem_splits_at_its_first_colon() -> None:
    error = ResponseValidationError(["$.a: expected x: y, got 1"])
    assert error.problems == ((".a", "expected x: y, got 1"),)


# parse_error_body at its edges: which field wins, what is kept, and bodies no parser foresaw


def nested(depth: int, kind: str) -> bytes:
    """`depth` containers, one inside the other: [[[...]]] or {"a": {"a": ...}}."""
    if kind == "list":
        return b"[" * depth + b"]" * depth
    return b'{"a": ' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize(
    ("status", "body", "message", "error_type"),
    [
        (409, b'{"error": "Busy"}', "Busy", "Busy"),  # the error string, not the reason phrase
        (409, b'{"error": "Busy", "message": 5}', "Busy", "Busy"),
        (409, b'{"error": "Busy", "message": "   "}', "Busy", "Busy"),
        (503, b'{"statusCode": 503}', "Service Unavailable", None),
        (503, b"{}", "Service Unavailable", None),
        (404, b'{"error": {"type": "NotFound"}}', "Not Found", "NotFound"),
        (404, b'{"error": {"message": "gone", "type": "  "}}', "gone", None),
        (429, b'{"error": "Too Many", "code": 7}', "Too Many", "Too Many"),
        (429, b'{"code": 0, "message": "m"}', "m", "0"),
        (503, b"<p>maintenance</p>", "Service Unavailable", None),
        (503, b"  \n<p>maintenance</p>", "Service Unavailable", None),
        (502, b"<title> \n </title>", "Bad Gateway", None),
        (502, b"<TITLE>Bad\n  Gateway</TITLE>", "Bad Gateway", None),
        (503, b" " * 3000 + b"x", "Service Unavailable", None),  # only the kept text is read
        (500, b"a  \t b\n\nc", "a b c", None),
        (599, b"", "Unknown status", None),
    ],
)  # fmt: skip
def test_parse_error_body_edges(
    status: int, body: bytes, message: str, error_type: str | None
) -> None:
    assert parse_error_body(status, body)[:2] == (message, error_type)


def test_plain_text_errors_keep_200_characters_of_message() -> None:
    message, _type, kept = parse_error_body(500, b"x" * 300)
    assert message == "x" * 200
    assert kept == "x" * 300


def test_bodies_that_are_not_utf_8_are_read_with_replacements() -> None:
    message, _type, kept = parse_error_body(500, b"bad \xff\xfe bytes")
    assert message == kept == "bad \ufffd\ufffd bytes"
    title, _type, _kept = parse_error_body(502, b"<title>Bad \xff Gateway</title>")
    assert title == "Bad \ufffd Gateway"


@pytest.mark.parametrize("kind", ["list", "dict"])
def test_error_bodies_nested_past_the_limit_are_kept_as_text(kind: str) -> None:
    """32 levels are parsed; 33 are kept as text, so nothing later walks them recursively."""
    deepest = nested(MAX_ERROR_BODY_DEPTH, kind)
    _message, _type, kept = parse_error_body(500, deepest)
    assert kept == json.loads(deepest)
    deeper = nested(MAX_ERROR_BODY_DEPTH + 1, kind)
    message, error_type, kept = parse_error_body(500, deeper)
    assert kept == deeper.decode()
    assert (message, error_type) == (deeper.decode()[:200], None)
