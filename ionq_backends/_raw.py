"""`client.with_raw_response`: the client's own methods, with the HTTP facts of the call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, Protocol, TypeVar

import attrs

from ._call import Reply, recording
from ._models import Backend, Characterization

__all__ = ["RawResponse", "RawResponses"]

T = TypeVar("T")


@attrs.frozen
class RawResponse(Generic[T]):
    """A parsed value, and how the call that got it went.

    `headers` are the final answer's; `attempts` counts the client's own attempts (retries
    included, redirects not); `elapsed` is seconds from the first attempt to the answer.
    """

    parsed: T
    status: int
    headers: Mapping[str, str]
    request_id: str | None
    path: str
    elapsed: float
    attempts: int

    @classmethod
    def of(cls, parsed: T, reply: Reply) -> RawResponse[T]:
        # aiohttp's headers: read-only and case-insensitive, as HTTP's are.
        return cls(parsed, reply.status, reply.headers, reply.request_id, reply.path,
                   reply.elapsed, reply.attempts)  # fmt: skip


class _Client(Protocol):
    async def list_backends(self) -> list[Backend]: ...
    async def get_backend(self, name: str) -> Backend: ...
    async def get_characterization(
        self, backend: str, characterization_id: str
    ) -> Characterization: ...


class RawResponses:
    """`client.with_raw_response.get_backend(name)` and the like: each wraps the client's own
    method and records the reply it got."""

    __slots__ = ("_client",)

    def __init__(self, client: _Client) -> None:
        self._client = client

    async def list_backends(self) -> RawResponse[list[Backend]]:
        return RawResponse.of(*await recording(self._client.list_backends()))

    async def get_backend(self, name: str) -> RawResponse[Backend]:
        return RawResponse.of(*await recording(self._client.get_backend(name)))

    async def get_characterization(
        self, backend: str, characterization_id: str
    ) -> RawResponse[Characterization]:
        call = self._client.get_characterization(backend, characterization_id)
        return RawResponse.of(*await recording(call))
