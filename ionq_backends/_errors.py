"""The IonQError family, and the pure parsing of IonQ's error bodies into it.

Errors hold plain data only: no aiohttp object, no header, never the API key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from ._constants import ERROR_BODY_KEEP

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "IonQError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "ServerError",
    "error_for_status",
    "parse_error_body",
]


class IonQError(Exception):
    """Base of every error ionq-backends raises for an API call.

    `message` is the bare description; `str()` adds where it happened.
    """

    def __init__(self, message: str, *, method: str | None = None, path: str | None = None) -> None:
        self.message = message
        self.method = method
        self.path = path
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors do not survive pickle's default `cls(*args)`.
        return _restore, (type(self), dict(vars(self)))

    def _where(self) -> list[str]:
        return [f"{self.method} {self.path}"] if self.method and self.path else []

    def __str__(self) -> str:
        where = self._where()
        return f"{self.message} ({', '.join(where)})" if where else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


def _restore(cls: type[IonQError], state: dict[str, Any]) -> IonQError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message"))
    error.__dict__.update(state)
    return error


class APIConnectionError(IonQError):
    """The API could not be reached, or the connection broke before a whole answer came."""


class APITimeoutError(APIConnectionError):
    """The request did not finish within its timeout."""


class APIStatusError(IonQError):
    """The API answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error_type: str | None = None,
        request_id: str | None = None,
        body: Any = None,
        retry_after: float | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path)
        self.status_code = status_code
        self.error_type = error_type
        self.request_id = request_id
        self.body = body
        self.retry_after = retry_after

    def _where(self) -> list[str]:
        where = super()._where()
        if self.request_id:
            where.append(f"request id {self.request_id}")
        return where

    def __str__(self) -> str:
        return f"{self.status_code} {super().__str__()}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, message={self.message!r}, "
            f"request_id={self.request_id!r})"
        )


class BadRequestError(APIStatusError):
    """400: the API rejected the request's parameters."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, malformed or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the key is valid but may not see this resource."""


class NotFoundError(APIStatusError):
    """404: no such backend, characterization or path."""


class RateLimitError(APIStatusError):
    """429: too many requests; `retry_after` says how long the API asked us to wait."""


class ServerError(APIStatusError):
    """5xx: IonQ or a proxy in front of it failed."""


class ResponseValidationError(IonQError):
    """The API answered 2xx with a body that is not what the API version promises.

    `errors` lists every problem, each naming a JSON path in wire keys.
    """

    def __init__(
        self,
        errors: Iterable[str],
        *,
        request_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.errors = tuple(errors)
        self.request_id = request_id
        count = len(self.errors)
        head = "invalid response" if count == 1 else f"invalid response, {count} problems"
        super().__init__(f"{head}: {'; '.join(self.errors)}", method=method, path=path)

    def _where(self) -> list[str]:
        where = super()._where()
        if self.request_id:
            where.append(f"request id {self.request_id}")
        return where

    def with_context(
        self, *, method: str, path: str, request_id: str | None
    ) -> ResponseValidationError:
        """Return a copy that says which request the body came from."""
        return ResponseValidationError(self.errors, request_id=request_id, method=method, path=path)


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def error_for_status(status: int) -> type[APIStatusError]:
    """Return the exception class for an HTTP error status."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, APIStatusError)


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
    except ValueError:
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
