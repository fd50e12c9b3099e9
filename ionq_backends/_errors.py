"""The IonQError family. Errors hold plain data only: no aiohttp object, no header, never the key.

Every public call raises only these (for what the server or the network did), `ValueError` or
`TypeError` (for a caller's mistake, before any request), or `CancelledError`::

    IonQError                     anything the API or the network did
    ├── APIConnectionError        no whole answer: refused, reset, closed client, ...
    │   └── APITimeoutError       no answer within the timeout
    ├── APIStatusError            an error status (status_code, error_type, body, retry_after)
    │   ├── BadRequestError       400
    │   ├── AuthenticationError   401
    │   ├── PermissionDeniedError 403
    │   ├── NotFoundError         404
    │   ├── RateLimitError        429
    │   └── ServerError           5xx
    └── ResponseValidationError   a 2xx whose body is not what the API version promises

Each carries where it happened: `method`, `path` and the `request_id` IonQ gave the request.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, Self

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
]


class IonQError(Exception):
    """Base of every error ionq-backends raises for an API call.

    `message` is the bare description; `str()` adds where it happened.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.message = message
        self.method = method
        self.path = path
        self.request_id = request_id
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors do not survive pickle's default `cls(*args)`.
        return _restore, (type(self), dict(vars(self)))

    def with_context(
        self, *, method: str | None, path: str | None, request_id: str | None = None
    ) -> Self:
        """Return a copy that says which request it came from (what it already says is kept)."""
        placed = copy.copy(self)
        placed.method = self.method or method
        placed.path = self.path or path
        placed.request_id = self.request_id or request_id
        placed.__cause__, placed.__traceback__ = self.__cause__, None
        return placed

    def _where(self) -> list[str]:
        where = [f"{self.method} {self.path}"] if self.method and self.path else []
        if self.request_id:
            where.append(f"request id {self.request_id}")
        return where

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
        super().__init__(message, method=method, path=path, request_id=request_id)
        self.status_code = status_code
        self.error_type = error_type
        self.body = body
        self.retry_after = retry_after

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

    `problems` holds (JSON path, message) pairs, the path in wire keys below the body's root
    (`[3].last_updated`); `errors` renders them (`$[3].last_updated: expected ...`).
    """

    def __init__(
        self,
        problems: Iterable[tuple[str, str] | str],
        *,
        request_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.problems = tuple(_problem(p) for p in problems)
        count = len(self.problems)
        head = "invalid response" if count == 1 else f"invalid response, {count} problems"
        super().__init__(
            f"{head}: {'; '.join(self.errors)}", method=method, path=path, request_id=request_id
        )

    @property
    def errors(self) -> tuple[str, ...]:
        """Each problem as `$path: message`."""
        return tuple(f"${where}: {message}" for where, message in self.problems)

    def under(self, prefix: str) -> ResponseValidationError:
        """The same problems, found in the value at `prefix` (e.g. `[3]`) of a larger body."""
        return ResponseValidationError(
            ((prefix + where, message) for where, message in self.problems),
            request_id=self.request_id,
            method=self.method,
            path=self.path,
        )


def _problem(problem: tuple[str, str] | str) -> tuple[str, str]:
    """Accept a rendered `$path: message` too, as earlier releases built them."""
    if isinstance(problem, str):
        where, _, message = problem.partition(": ")
        return where.removeprefix("$"), message
    return problem


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
