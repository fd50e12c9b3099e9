"""IonQClient: the public entry point. Every version question goes to the client's profile."""

from __future__ import annotations

import asyncio
import os
import random as _random
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp
import attrs

from . import _params
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
from ._errors import APIStatusError, IonQError, ResponseValidationError
from ._models import (
    Backend,
    BackendChange,
    BackendName,
    BackendsSnapshot,
    Characterization,
    CharacterizationPage,
    CharacterizationsSnapshot,
    PollRound,
)
from ._retry import RetryPolicy, jittered
from ._transport import Reply, Sleep, Transport, client_timeout
from ._urls import check_base_url, segment
from ._watch import Watcher
from ._wire import Request, profile_for
from ._wire.profile import structure_backend

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
        self._profile = profile_for(api_version)
        self.api_version = self._profile.version
        if verbose_status and not self._profile.verbose_status:
            raise ValueError(f"verbose_status does not exist in API {api_version}")
        root = check_base_url(base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL)
        self.base_url = str(root)
        self.strict = strict
        self._verbose = verbose_status
        self._converter = self._profile.converter(strict=strict)
        self._random = random or _random.random
        self._sleep = sleep
        key = _params.api_key(api_key if api_key is not None else os.environ.get(ENV_API_KEY))
        policy = RetryPolicy(
            max_retries=_params.integer("max_retries", max_retries, low=0),
            retry_after_cap=_params.finite("retry_after_cap", retry_after_cap, inclusive=True),
        )
        self._transport = Transport(
            root=root / self.api_version,
            api_key=key,
            timeout=client_timeout(timeout),
            policy=policy,
            max_concurrency=_params.integer("max_concurrency", max_concurrency, low=1),
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

    @property
    def key_rejected(self) -> bool:
        """True once the API answered 401 to this client's key on a public endpoint.

        Public requests then go without the key, and `has_access` is unknown (`None`).
        """
        return self._transport.key_rejected

    async def list_backends(self) -> list[Backend]:
        """Every backend the API lists, in its order. One malformed item fails the whole call."""
        reply = await self._transport.get(self._profile.list_backends(verbose=self._verbose))
        backends: list[Backend] = reply.parse(self._structurer(list[Backend]))
        if reply.anonymous:
            return [_unknown_access(b) for b in backends]
        return backends

    async def get_backend(self, name: str) -> Backend:
        """One backend by name (v0.3 has no single-backend path: it is picked from the list)."""
        name = _name(name)
        reply = await self._transport.get(self._backend_request(name))
        return self._pick(reply, name)

    async def get_backends(self, names: Iterable[str] | None = None) -> BackendsSnapshot:
        """Fetch many backends concurrently (default: every `BackendName`).

        Each backend's failure is its own: it lands in `snapshot.errors`, the others still succeed.
        Names whose answers come from one request (v0.3's list) share that one request.
        """
        wanted = self._names(names)
        self._transport.check_open()
        requests = {name: self._backend_request(name) for name in wanted}
        replies: dict[Request, Reply | IonQError] = {}
        async with asyncio.TaskGroup() as group:
            for request in dict.fromkeys(requests.values()):
                group.create_task(self._capture(request, replies))
        backends: dict[str, Backend] = {}
        errors: dict[str, IonQError] = {}
        for name in wanted:
            reply = replies[requests[name]]
            try:
                if isinstance(reply, IonQError):
                    raise reply
                backends[name] = self._pick(reply, name)
            except Exception as exc:  # one backend's failure is its own, whatever it is
                errors[name] = as_ionq_error(exc)
        return BackendsSnapshot(backends, errors, fetched_at=datetime.now(UTC))

    def poll(
        self,
        names: Iterable[str] | Callable[[], Iterable[str]] | None = None,
        *,
        interval: float = DEFAULT_WATCH_INTERVAL,
        jitter: float = DEFAULT_WATCH_JITTER,
        ignore: Iterable[str] = DEFAULT_WATCH_IGNORE,
    ) -> AsyncGenerator[PollRound, None]:
        """Fetch `names` every `interval` seconds and yield every round as a `PollRound`.

        For a service that needs each round (data age, metrics, history) as well as the changes
        `watch()` yields. `names` may be a callable, asked at the start of every round, so the
        set can follow the fleet. Rounds run start to start, jittered by `jitter` so that many
        pollers drift apart, and never overlap. Only cancellation or `aclose()` ends it.
        """
        _params.finite("interval", interval)
        if not 0.0 <= _params.finite("jitter", jitter, inclusive=True) < 1.0:
            raise ValueError(f"jitter must be in [0, 1), got {jitter!r}")
        choose = names if callable(names) else None
        fixed = None if choose is not None else self._names(names)  # type: ignore[arg-type]
        return self._poll(choose, fixed, interval, jitter, Watcher(frozenset(ignore)))

    async def _poll(
        self,
        choose: Callable[[], Iterable[str]] | None,
        fixed: list[str] | None,
        interval: float,
        jitter: float,
        watcher: Watcher,
    ) -> AsyncGenerator[PollRound, None]:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            started_at = datetime.now(UTC)
            names = fixed if choose is None else self._names(choose())
            snapshot = await self.get_backends(names)
            changes = tuple(watcher.update(snapshot))
            yield PollRound(snapshot, changes, started_at, loop.time() - started)
            delay = started + jittered(interval, jitter, self._random) - loop.time()
            if delay > 0:
                await self._sleep(delay)

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
        return self._changes(self.poll(names, interval=interval, jitter=jitter, ignore=ignore))

    @staticmethod
    async def _changes(
        rounds: AsyncGenerator[PollRound, None],
    ) -> AsyncGenerator[BackendChange, None]:
        try:
            async for poll_round in rounds:
                for change in poll_round.changes:
                    yield change
        finally:
            await rounds.aclose()

    # Characterizations

    async def get_characterization(
        self, backend: str, characterization_id: str
    ) -> Characterization:
        """One characterization by id."""
        request = self._profile.characterization(
            segment(backend, "backend name"), segment(characterization_id, "characterization id")
        )
        reply = await self._transport.get(request)
        return reply.parse(self._structurer(Characterization))

    async def latest_characterization(self, backend: str) -> Characterization | None:
        """The newest characterization of `backend`, or `None` when the API has none."""
        request = self._profile.latest_characterization(segment(backend, "backend name"))
        try:
            reply = await self._transport.get(request)
        except APIStatusError as error:
            if error.status_code in self._profile.latest_absent_statuses:
                return None
            raise
        return reply.parse(lambda data: self._profile.latest_from(data, self._converter))

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
        _params.integer("page_size", page_size, low=1, high=MAX_PAGE_SIZE)
        quoted = segment(backend, "backend name")
        params = {"limit": str(page_size)}
        for key, value in (("start", start), ("end", end)):
            if value is not None:
                params[key] = self._profile.encode_when(value)
        return self._pages(quoted, params, page_size)

    async def _pages(
        self, quoted: str, params: dict[str, str], page_size: int
    ) -> AsyncGenerator[Characterization, None]:
        number = 1
        seen: dict[tuple[str, ...], int] = {}  # each full page's ids, and its number
        structure: Callable[[Any], CharacterizationPage] = self._structurer(CharacterizationPage)
        while True:
            request = self._profile.characterizations(quoted, {**params, "page": str(number)})
            reply = await self._transport.get(request)
            page: CharacterizationPage = reply.parse(structure)
            ids = tuple(c.id for c in page.characterizations)
            if ids in seen:  # a server that ignores `page` would make this endless
                problem = (".characterizations", f"page {number} repeats page {seen[ids]}")
                raise reply.fail(ResponseValidationError([problem]))
            for item in page.characterizations:
                yield item
            if len(ids) < page_size:
                return
            seen[ids] = number
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
        return list(dict.fromkeys(_name(n) for n in chosen))

    def _backend_request(self, name: str) -> Request:
        return self._profile.backend(segment(name, "backend name"), verbose=self._verbose)

    def _pick(self, reply: Reply, name: str) -> Backend:
        def pick(data: Any) -> Backend:
            where, item = self._profile.select_backend(data, name)
            return structure_backend(self._converter, where, item)

        backend = reply.parse(pick)
        return _unknown_access(backend) if reply.anonymous else backend

    def _structurer(self, cls: type[T] | Any) -> Callable[[Any], T]:
        converter = self._converter

        def structure(data: Any) -> T:
            result: T = converter.structure(data, cls)
            return result

        return structure

    async def _capture(self, request: Request, replies: dict[Request, Reply | IonQError]) -> None:
        try:
            replies[request] = await self._transport.get(request)
        except Exception as exc:  # one request's failure is its own names' only
            replies[request] = as_ionq_error(exc)


async def _settle(
    results: dict[str, T | IonQError], name: str, call: Callable[[str], Awaitable[T]]
) -> None:
    """`results[name]` is what `call(name)` returns or the `IonQError` it ends with."""
    try:
        results[name] = await call(name)
    except Exception as exc:  # one backend's failure is its own, whatever it is
        results[name] = as_ionq_error(exc)


def _unknown_access(backend: Backend) -> Backend:
    # What `has_access` says of a request without a key is not what it says of the key.
    return attrs.evolve(backend, has_access=None)


def _name(name: Any) -> str:
    """A backend name as given; anything but a `str` is a caller's mistake."""
    if not isinstance(name, str):
        raise TypeError(f"a backend name must be a str, got {type(name).__name__}")
    segment(name, "backend name")
    return str(name)


def as_ionq_error(exc: Exception) -> IonQError:
    """`exc` itself if it is an `IonQError`, else an `IonQError` caused by it."""
    if isinstance(exc, IonQError):
        return exc
    wrapped = IonQError(f"unexpected {type(exc).__name__}: {exc}")
    wrapped.__cause__ = exc
    return wrapped
