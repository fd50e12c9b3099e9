"""`client.with_raw_response`: the same calls, with the HTTP facts of a successful one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Generic, TypeVar

import attrs

from ._models import Backend, Characterization

if TYPE_CHECKING:
    from ._client import IonQClient
    from ._transport import Reply

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


class RawResponses:
    """`client.with_raw_response.get_backend(name)` and the like."""

    __slots__ = ("_client",)

    def __init__(self, client: IonQClient) -> None:
        self._client = client

    async def list_backends(self) -> RawResponse[list[Backend]]:
        return RawResponse.of(*await self._client._list_backends())

    async def get_backend(self, name: str) -> RawResponse[Backend]:
        return RawResponse.of(*await self._client._get_backend(name))

    async def get_characterization(
        self, backend: str, characterization_id: str
    ) -> RawResponse[Characterization]:
        return RawResponse.of(
            *await self._client._get_characterization(backend, characterization_id)
        )
