"""IonQClient: the public entry point."""

from __future__ import annotations

import asyncio
import os
import random as _random
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp

from ._constants import (
    DEFAULT_API_VERSION,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_AFTER_CAP,
    DEFAULT_TIMEOUT,
    DEFAULT_WATCH_IGNORE,
    DEFAULT_WATCH_INTERVAL,
    DEFAULT_WATCH_JITTER,
    ENV_API_KEY,
    ENV_BASE_URL,
    MAX_PAGE_SIZE,
)
from ._converters import check_api_version, make_converter, reroot
from ._errors import IonQError, NotFoundError, ResponseValidationError
from ._models import (
    Backend,
    BackendChange,
    BackendName,
    BackendsSnapshot,
    Characterization,
    CharacterizationPage,
    CharacterizationsSnapshot,
)
from ._retry import RetryPolicy
from ._transport import Reply, Sleep, Transport, make_timeout
from ._urls import check_base_url, segment
from ._watch import Watcher

__all__ = ["IonQClient"]

T = TypeVar("T")


class IonQClient:
    """Async client for IonQ's backends and characterizations endpoints.

    The key comes from `api_key`, else `$IONQ_API_KEY`, else none (these endpoints answer without
    one). `base_url` comes from the argument, else `$IONQ_BASE_URL`, else the IonQ host; the
    version segment is appended here. Use as `async with IonQClient() as client: ...`.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float | aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        session: aiohttp.ClientSession | None = None,
        strict: bool = False,
        retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP,
        verbose_status: bool = False,
        sleep: Sleep = asyncio.sleep,
        random: Callable[[], float] | None = None,
    ) -> None:
        self.api_version = check_api_version(api_version)
        if verbose_status and api_version != "v0.3":
            raise ValueError("verbose_status exists only in API v0.3")
        root = check_base_url(base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL)
        self.base_url = str(root)
        self.strict = strict
        self._verbose = verbose_status
        self._converter = make_converter(api_version, strict=strict)
        self._random = random or _random.random
        self._sleep = sleep
        self._transport = Transport(
            root=root / api_version,
            api_key=api_key if api_key is not None else os.environ.get(ENV_API_KEY) or None,
            timeout=make_timeout(timeout),
            policy=RetryPolicy(max_retries=max_retries, retry_after_cap=retry_after_cap),
            max_concurrency=max_concurrency,
            session=session,
            sleep=sleep,
            random=self._random,
        )

    def __repr__(self) -> str:
        return f"IonQClient(base_url={self.base_url!r}, api_version={self.api_version!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Release the session (a borrowed one stays open). Safe to call more than once."""
        await self._transport.close()

    # Backends

    async def list_backends(self) -> list[Backend]:
        """Every backend the API lists, in its order. One malformed item fails the whole call."""
        reply = await self._transport.get_json("backends", self._list_params())
        return self._structure(reply, list[Backend])

    async def get_backend(self, name: str) -> Backend:
        """One backend by name (v0.3 has no single-backend path: it is picked from the list)."""
        quoted = segment(name, "backend name")
        if self.api_version == "v0.3":
            reply, items = await self._v3_index()
            return self._v3_pick(reply, items, str(name))
        return self._structure(await self._transport.get_json(f"backends/{quoted}"), Backend)

    async def get_backends(self, names: Iterable[str] | None = None) -> BackendsSnapshot:
        """Fetch many backends concurrently (default: every `BackendName`).

        Each backend's failure is its own: it lands in `snapshot.errors`, the others still succeed.
        """
        wanted = self._names(names)
        self._transport.check_open()
        results: dict[str, Backend | IonQError] = {}
        if self.api_version == "v0.3":
            await self._v3_fan_out(wanted, results)
        else:
            async with asyncio.TaskGroup() as group:
                for name in wanted:
                    group.create_task(self._capture(name, results))
        backends = {n: r for n in wanted if isinstance(r := results[n], Backend)}
        errors = {n: r for n in wanted if isinstance(r := results[n], IonQError)}
        return BackendsSnapshot(backends, errors, fetched_at=datetime.now(UTC))

    def watch(
        self,
        names: Iterable[str] | None = None,
        *,
        interval: float = DEFAULT_WATCH_INTERVAL,
        jitter: float = DEFAULT_WATCH_JITTER,
        ignore: Iterable[str] = DEFAULT_WATCH_IGNORE,
    ) -> AsyncGenerator[BackendChange, None]:
        """Poll `names` every `interval` seconds and yield a `BackendChange` per real change.

        The first round yields every backend once (`previous=None`). Changes to fields in `ignore`
        alone make no event. An error yields once when it starts or changes, and recovery yields an
        event whose `previous` is the last good value. Only cancellation or `aclose()` ends it.
        """
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval!r}")
        if not 0.0 <= jitter < 1.0:
            raise ValueError(f"jitter must be in [0, 1), got {jitter!r}")
        wanted = self._names(names)
        return self._watch(wanted, interval, jitter, Watcher(frozenset(ignore)))

    async def _watch(
        self, names: list[str], interval: float, jitter: float, watcher: Watcher
    ) -> AsyncGenerator[BackendChange, None]:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            snapshot = await self.get_backends(names)
            for change in watcher.update(snapshot):
                yield change
            # Start to start, jittered so that many watchers drift apart; never overlapping.
            period = interval * (1.0 + jitter * (2.0 * self._random() - 1.0))
            delay = started + period - loop.time()
            if delay > 0:
                await self._sleep(delay)

    # Characterizations

    async def get_characterization(
        self, backend: str, characterization_id: str
    ) -> Characterization:
        """One characterization by id."""
        cid = segment(characterization_id, "characterization id")
        if self.api_version == "v0.3":
            path = f"characterizations/{cid}"
        else:
            path = f"backends/{segment(backend, 'backend name')}/characterizations/{cid}"
        return self._structure(await self._transport.get_json(path), Characterization)

    async def latest_characterization(self, backend: str) -> Characterization | None:
        """The newest characterization of `backend`, or `None` when the API has none."""
        quoted = segment(backend, "backend name")
        if self.api_version == "v0.4":
            page = await self._page(quoted, {"limit": "1", "page": "1"})
            return page.characterizations[0] if page.characterizations else None
        try:
            reply = await self._transport.get_json(f"characterizations/backends/{quoted}/current")
        except NotFoundError:
            return None
        if reply.data is None or reply.data == [] or reply.data == {}:
            return None
        return self._structure(reply, Characterization)

    async def latest_characterizations(
        self, names: Iterable[str] | None = None
    ) -> CharacterizationsSnapshot:
        """The latest characterization of many backends, fetched concurrently (as get_backends).

        A backend with none maps to `None`; each backend's failure lands in `errors` alone.
        """
        wanted = self._names(names)
        self._transport.check_open()
        results: dict[str, Characterization | IonQError | None] = {}
        async with asyncio.TaskGroup() as group:
            for name in wanted:
                group.create_task(_settle(results, name, self.latest_characterization))
        found = {n: r for n in wanted if not isinstance(r := results[n], IonQError)}
        errors = {n: r for n in wanted if isinstance(r := results[n], IonQError)}
        return CharacterizationsSnapshot(found, errors, fetched_at=datetime.now(UTC))

    def iter_characterizations(
        self,
        backend: str,
        *,
        start: date | datetime | None = None,
        end: date | datetime | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncGenerator[Characterization, None]:
        """Every characterization of `backend` in `[start, end]`, newest first, page by page.

        It stops on the first page shorter than `page_size`; the API's `pages` count is advisory
        and never trusted to stop or to continue.
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1 to {MAX_PAGE_SIZE}, got {page_size!r}")
        quoted = segment(backend, "backend name")
        params = {"limit": str(page_size)}
        for key, value in (("start", start), ("end", end)):
            if value is not None:
                params[key] = self._encode_when(value)
        return self._pages(quoted, params, page_size)

    async def _pages(
        self, quoted: str, params: dict[str, str], page_size: int
    ) -> AsyncGenerator[Characterization, None]:
        number = 1
        previous: tuple[str, ...] = ()
        while True:
            page = await self._page(quoted, {**params, "page": str(number)})
            ids = tuple(c.id for c in page.characterizations)
            if ids and ids == previous:
                raise ResponseValidationError(
                    [f"$.characterizations: page {number} repeats page {number - 1}"],
                    method="GET",
                    path=self._characterizations_path(quoted),
                )
            for item in page.characterizations:
                yield item
            if len(ids) < page_size:
                return
            previous = ids
            number += 1

    async def characterization_of(self, backend: Backend | str) -> Characterization | None:
        """The characterization a `Backend` links to, or the latest one for a backend name."""
        if isinstance(backend, Backend):
            if backend.characterization_id:
                return await self.get_characterization(backend.name, backend.characterization_id)
            backend = backend.name
        return await self.latest_characterization(backend)

    # Internals

    def _names(self, names: Iterable[str] | None) -> list[str]:
        chosen = list(BackendName) if names is None else names
        if isinstance(chosen, str):
            raise TypeError("names must be an iterable of names, not one string")
        wanted = list(dict.fromkeys(str(n) for n in chosen))
        for name in wanted:
            segment(name, "backend name")
        return wanted

    def _list_params(self) -> dict[str, str] | None:
        return {"status": "verbose"} if self._verbose else None

    def _structure(self, reply: Reply, cls: type[T] | Any) -> T:
        try:
            result: T = self._converter.structure(reply.data, cls)
        except ResponseValidationError as exc:
            raise exc.with_context(
                method="GET", path=reply.path, request_id=reply.request_id
            ) from None
        return result

    def _characterizations_path(self, quoted: str) -> str:
        if self.api_version == "v0.3":
            return f"characterizations/backends/{quoted}"
        return f"backends/{quoted}/characterizations"

    async def _page(self, quoted: str, params: dict[str, str]) -> CharacterizationPage:
        reply = await self._transport.get_json(self._characterizations_path(quoted), params)
        return self._structure(reply, CharacterizationPage)

    def _encode_when(self, value: date | datetime) -> str:
        """v0.3 takes epoch milliseconds, v0.4 an ISO date (or datetime) string."""
        if isinstance(value, datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        else:
            moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
        if self.api_version == "v0.3":
            return str(int(moment.timestamp() * 1000))
        if not isinstance(value, datetime):
            return value.isoformat()
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")

    async def _capture(self, name: str, results: dict[str, Backend | IonQError]) -> None:
        try:
            results[name] = await self.get_backend(name)
        except Exception as exc:  # one backend's failure is its own, whatever it is
            results[name] = _as_ionq_error(exc)

    async def _v3_index(self) -> tuple[Reply, dict[str, tuple[int, Any]]]:
        reply = await self._transport.get_json("backends", self._list_params())
        if not isinstance(reply.data, list):
            self._structure(reply, list[Backend])  # raises the shape error with context
        items: dict[str, tuple[int, Any]] = {}
        for index, item in enumerate(reply.data):
            if isinstance(item, dict) and isinstance(item.get("backend"), str):
                items.setdefault(item["backend"], (index, item))
        return reply, items

    def _v3_pick(self, reply: Reply, items: dict[str, tuple[int, Any]], name: str) -> Backend:
        found = items.get(name)
        if found is None:
            raise NotFoundError(
                f"backend {name!r} is not in the backends list",
                status_code=404,
                request_id=reply.request_id,
                method="GET",
                path=reply.path,
            )
        index, item = found
        try:
            backend: Backend = self._converter.structure(item, Backend)
        except ResponseValidationError as exc:
            raise reroot(exc, f"[{index}]").with_context(
                method="GET", path=reply.path, request_id=reply.request_id
            ) from None
        return backend

    async def _v3_fan_out(self, names: list[str], results: dict[str, Backend | IonQError]) -> None:
        try:
            reply, items = await self._v3_index()
        except IonQError as exc:
            results.update(dict.fromkeys(names, exc))
            return
        for name in names:
            try:
                results[name] = self._v3_pick(reply, items, name)
            except IonQError as exc:
                results[name] = exc


async def _settle(
    results: dict[str, T | IonQError], name: str, call: Callable[[str], Awaitable[T]]
) -> None:
    """`results[name]` is what `call(name)` returns or the `IonQError` it ends with."""
    try:
        results[name] = await call(name)
    except Exception as exc:  # one backend's failure is its own, whatever it is
        results[name] = _as_ionq_error(exc)


def _as_ionq_error(exc: Exception) -> IonQError:
    if isinstance(exc, IonQError):
        return exc
    wrapped = IonQError(f"unexpected {type(exc).__name__}: {exc}")
    wrapped.__cause__ = exc
    return wrapped
