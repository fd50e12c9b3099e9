"""One answer in, data or a typed error out: `decipher_response(status, headers, body)` (pure).

As gidgethub's `sansio.decipher_response`: every status mapping and error-body parse is a function
of (status, headers, body), tested on canned samples. The transport only does the I/O around it.
"""

from __future__ import annotations

import importlib
import json
import json.scanner
import re
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, cast

from .._constants import ERROR_BODY_KEEP, MAX_ERROR_BODY_DEPTH
from .._errors import APIStatusError, ResponseValidationError, error_for_status
from .._retry import parse_retry_after

__all__ = ["decipher_response", "decode_json", "error_body", "parse_error_body"]


def error_body(status: int, message: str, **more: Any) -> dict[str, Any]:
    """IonQ's error shape, for the emulator and the monitor to answer in."""
    return {"error": HTTPStatus(status).phrase, "message": message, "statusCode": status, **more}


def decipher_response(status: int, headers: Mapping[str, str], body: bytes) -> Any:
    """The JSON of a 2xx answer; any other status raises its `APIStatusError`.

    A 2xx body that is empty or not JSON raises `ResponseValidationError`. The call loop adds
    the method, path and request id.
    """
    if 200 <= status < 300:
        return decode_json(body, headers.get("x-request-id"))
    raise status_error(status, headers, body)


def status_error(status: int, headers: Mapping[str, str], body: bytes) -> APIStatusError:
    """The typed error for an error answer, with its message, type, body and Retry-After."""
    message, error_type, kept = parse_error_body(status, body)
    return error_for_status(status)(
        message,
        status_code=status,
        error_type=error_type,
        request_id=headers.get("x-request-id"),
        body=kept,
        retry_after=parse_retry_after(headers),
    )


def decode_json(body: bytes, request_id: str | None = None) -> Any:
    """Decode a 2xx body, or raise `ResponseValidationError` saying why it is not JSON.

    With the `speedups` extra, orjson decodes first. What it refuses that the standard library
    reads (NaN, Infinity, integers past 64 bits) is read again by `json`, so that such a value is
    still a problem with its JSON path, never a whole body lost.
    """
    if not body or body.isspace():
        problem = "empty body, expected JSON"
    else:
        if _fast_loads is not None:
            try:
                return _fast_loads(body)
            except ValueError:
                pass
        else:
            found = _scan_utf8(body)
            if found is not _UNREAD:
                return found
        try:
            return json.loads(body)
        except (ValueError, RecursionError) as exc:
            problem = f"invalid JSON ({type(exc).__name__}: {str(exc)[:80]})"
    raise ResponseValidationError([("", problem)], request_id=request_id)


# The standard library's own scanner, called without `json.loads`' wrapping: detecting the
# encoding, and matching whitespace with a regular expression at both ends, costs 14k of the 51k
# instructions a backend's body takes to decode (callgrind, benchmarks/instructions.py).
_scan = json.scanner.make_scanner(cast(Any, json.JSONDecoder()))  # typeshed types it oddly
_UNREAD = object()


def _scan_utf8(body: bytes) -> Any:
    """The JSON value of a UTF-8 `body` with no space around it, or `_UNREAD` for any other
    body, which `json.loads` then reads (or refuses) as it always does."""
    try:
        text = body.decode()
        value, end = _scan(text, 0)
    except (ValueError, StopIteration, RecursionError):
        return _UNREAD
    return value if end == len(text) else _UNREAD


def _orjson() -> Callable[[bytes], Any] | None:
    """orjson's `loads`, when the `speedups` extra is installed."""
    try:
        module = importlib.import_module("orjson")
    except ImportError:
        return None
    loads: Callable[[bytes], Any] = module.loads
    return loads


_fast_loads = _orjson()


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown status"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def parse_error_body(status: int, body: bytes) -> tuple[str, str | None, Any]:
    """Read an error body in any shape IonQ or its proxies send.

    Returns `(message, error_type, kept_body)`. Shapes: `{error, message, statusCode}` (400 may add
    `validation`), legacy `{error: {type, message}}`, `{code, message}`, HTML, other text, nothing.
    """
    if not body.strip():
        return _reason(status), None, None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return _parse_text(status, body)
    if _deeper_than(data, MAX_ERROR_BODY_DEPTH):  # kept as text: nothing walks it recursively
        return _parse_text(status, body)
    if not isinstance(data, dict):
        return _reason(status), None, data
    error = data.get("error")
    if isinstance(error, dict):  # legacy {"error": {"type": ..., "message": ...}}
        message = _text(error.get("message")) or _reason(status)
        return message, _text(error.get("type")), data
    message = _text(data.get("message")) or _text(error) or _reason(status)
    error_type = _text(error)
    if error_type is None and data.get("code") is not None:
        error_type = str(data["code"])
    validation = data.get("validation")
    if validation:
        message = f"{message} (validation: {json.dumps(validation, sort_keys=True)})"
    return message, error_type, data


def _deeper_than(data: Any, limit: int) -> bool:
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth >= limit:
                return True
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return False


def _parse_text(status: int, body: bytes) -> tuple[str, str | None, Any]:
    kept = body[:ERROR_BODY_KEEP].decode("utf-8", "replace")
    title = _TITLE.search(body)
    if title:
        text = _SPACE.sub(" ", title.group(1).decode("utf-8", "replace")).strip()
        return text or _reason(status), None, kept
    if body.lstrip()[:1] == b"<":
        return _reason(status), None, kept
    first = _SPACE.sub(" ", kept).strip()[:200]
    return first or _reason(status), None, kept
