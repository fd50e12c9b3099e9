"""IonQClient: the public entry point. Every version question goes to the client's profile."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import os
import random as _random
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Self, cast

import aiohttp

from . import _params
from ._call import Caller, Reply, Sleep, collect, settle
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
    USER_AGENT,
)
from ._errors import APIStatusError, IonQError
from ._models import (
    Backend,
    BackendChange,
    BackendsSnapshot,
    Characterization,
    CharacterizationPage,
    CharacterizationsSnapshot,
    PollRound,
    whole_fleet,
)
from ._pages import pages
from ._plan import Plan, asked, unknown_access
from ._polling import changes, poll
from ._raw import RawResponses
from ._retry import RetryPolicy
from ._transport import Transport, client_timeout
from ._urls import check_base_url, segment
from ._wire import Request, profile_for, shared_converter
from ._wire.converter import structurer

__all__ = ["IonQClient"]


class IonQClient:
    """Async client for IonQ's backends and characterizations endpoints.

    The key comes from `api_key`, else `$IONQ_API_KEY`, else none (these endpoints answer without
    one). `base_url` comes from the argument, else `$IONQ_BASE_URL`, else the IonQ host; the
    version segment is appended here. `max_age` (seconds, off by default) lets a call answer from
    an answer younger than it; each call may say its own. Use as `async with IonQClient() as c:`.
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
        default_headers: Mapping[str, str] | None = None,
        user_agent: str | None = None,
        max_age: float | None = None,
    ) -> None:
        sealed = _params.SealedKey(api_key if api_key is not None else os.environ.get(ENV_API_KEY))
        del api_key  # from here on, no frame of a failing constructor holds the key as a str
        self._profile = profile_for(api_version)
        self.api_version = self._profile.version
        if verbose_status and not self._profile.verbose_status:
            raise ValueError(f"verbose_status does not exist in API {api_version}")
        root = check_base_url(base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL)
        self.base_url = str(root)
        self.strict = strict
        self._verbose = verbose_status
        self._converter = shared_converter(self.api_version, strict=strict)
        self._backend = structurer(self._converter, Backend)
        hook = self._converter.get_structure_hook(Backend)  # for the usual poll: cattrs' own
        self._backend_hook = cast("Callable[[Any], Backend]", hook)  # (its type is optional)
        self._backends = structurer(self._converter, list[Backend])
        self._listed: list[str] = []  # the names of the last list the API answered
        self._left_out: list[Request | IonQError] = []  # the requests of the names it left out
        self._random = random or _random.random
        self._sleep = sleep
        policy = _params.retry_policy(RetryPolicy(), max_retries=max_retries,
                                      retry_after_cap=retry_after_cap)  # fmt: skip
        concurrency = _params.integer("max_concurrency", max_concurrency, low=1)
        self._transport = Transport(
            root=root / self.api_version,
            api_key=_params.api_key(sealed),  # a value in passing, never a local
            timeout=client_timeout(timeout),
            max_concurrency=concurrency,
            session=session,
            headers=_params.headers(default_headers, user_agent, USER_AGENT),
        )
        self._caller = Caller(self._transport, policy, sleep=sleep, random=self._random,
                              max_age=_params.max_age(max_age))  # fmt: skip

    def with_options(
        self,
        *,
        timeout: float | aiohttp.ClientTimeout | None = None,
        max_retries: int | None = None,
        retry_after_cap: float | None = None,
    ) -> IonQClient:
        """A client with other options on this one's pool and concurrency bound, as in
        `client.with_options(timeout=5).get_backend(name)`; closing this one closes both."""
        changed = _params.retry_policy(
            self._caller.policy, max_retries=max_retries, retry_after_cap=retry_after_cap
        )
        clone = copy.copy(self)
        clone._transport = self._transport.derive(
            timeout=self._transport.timeout if timeout is None else client_timeout(timeout)
        )
        clone._caller = self._caller.derive(clone._transport, changed)
        return clone

    @property
    def with_raw_response(self) -> RawResponses:
        """The same calls, each returning a `RawResponse`: the value and the call's HTTP facts."""
        return RawResponses(self)

    def __repr__(self) -> str:
        return f"IonQClient(base_url={self.base_url!r}, api_version={self.api_version!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Release the session (a borrowed one stays open). Safe to call more than once."""
        await self._transport.close()

    # Backends

    @property
    def last_failure(self) -> IonQError | None:
        """What this client's latest failed attempt met, retried or not (`None` if none has
        failed): the cause to show when a deadline of your own ends a call."""
        return self._caller.last_failure

    @property
    def key_rejected(self) -> bool:
        """True once the API answered 401 to this client's key on a public endpoint (public
        requests then go without it, and `has_access` is unknown)."""
        return self._caller.key_rejected

    async def list_backends(self, *, max_age: float | None = None) -> list[Backend]:
        """Every backend the API lists, in its order. One malformed item fails the whole call."""
        request = self._profile.list_backends(verbose=self._verbose)
        backends, reply = await self._caller.get(request, self._backends, _params.max_age(max_age))
        return [unknown_access(b) for b in backends] if reply.anonymous else backends

    async def get_backend(self, name: str, *, max_age: float | None = None) -> Backend:
        """One backend by name (v0.3 has no single-backend path: it is picked from the list)."""
        quoted = segment(_params.backend_name(name), "backend name")  # a bad one: ValueError
        request = self._profile.backend(quoted, verbose=self._verbose)
        return self._pick(
            request, await self._caller.reply(request, _params.max_age(max_age)), name
        )

    async def get_backends(
        self, names: Iterable[str] | None = None, *, max_age: float | None = None
    ) -> BackendsSnapshot:
        """Fetch many backends concurrently; by default the whole fleet in one round trip: the
        list, and with it the `BackendName`s the last list left out (a retired one shows as its
        error; one newly left out is asked after), or if it fails, the names it gave last and
        every `BackendName`. Each name's failure is its own, in `snapshot.errors`."""
        self._transport.check_open()
        age = _params.max_age(max_age)
        if names is not None:
            return await self._fan_out(self._asked_for(_params.backend_names(names)), age)
        listing = self._profile.list_backends(verbose=self._verbose)
        # What the last list left out is asked with this one: a round trip, not two.
        done = await self._send([listing, *self._left_out], age)
        answer = done[listing]
        if isinstance(answer, Reply):
            try:
                listed = self._caller.parse(answer, self._profile.listed_names, listing)
            except IonQError as error:
                answer = error
        if isinstance(answer, IonQError):  # no news of the fleet: every name it ever gave
            fallback = self._asked_for(whole_fleet(self._listed))
            # Sent with the next list, whatever it answers: recovering costs no round trip.
            self._left_out = [r for n, (r, _) in fallback.items() if n not in self._listed]
            return await self._fan_out(fallback, age, done)
        self._listed = listed
        plan: Plan = dict.fromkeys(self._listed, (listing, True))
        plan |= self._asked_for(n for n in whole_fleet() if n not in plan)
        self._left_out = [request for request, in_list in plan.values() if not in_list]
        return await self._fan_out(plan, age, done)

    async def _send(
        self, requests: Iterable[Request | IonQError], max_age: float | None
    ) -> dict[Request, Reply | IonQError]:
        """Each distinct request's reply or error, all sent concurrently."""
        sent = [r for r in requests if isinstance(r, Request)]
        got, failed = await settle(sent, lambda r: self._caller.reply(r, max_age))
        return {**got, **failed}

    async def _fan_out(
        self,
        plan: Plan,
        max_age: float | None,
        sent: Mapping[Request, Reply | IonQError] | None = None,
    ) -> BackendsSnapshot:
        """Each name's backend from its (request or error, found in a listing?) in `plan`;
        requests not `sent` yet are sent, each distinct one once, concurrently."""
        done = dict(sent or {})
        done |= await self._send((r for r, _ in plan.values() if r not in done), max_age)

        def backend(name: str) -> Backend:
            request, listed = plan[name]
            if isinstance(request, IonQError):  # the name could not even be asked
                raise request
            outcome = done[request]
            if isinstance(outcome, IonQError):  # names sharing a request: each its own copy
                raise outcome.with_context(method=None, path=None)
            return self._pick(request, outcome, name, listed=listed)

        backends, errors = collect(plan, backend)
        return BackendsSnapshot(backends, errors, fetched_at=datetime.now(UTC))

    def poll(
        self,
        names: Iterable[str] | Callable[[], Iterable[str]] | None = None,
        *,
        interval: float = DEFAULT_WATCH_INTERVAL,
        jitter: float = DEFAULT_WATCH_JITTER,
        ignore: Iterable[str] = DEFAULT_WATCH_IGNORE,
        max_age: float | None = None,
    ) -> AsyncGenerator[PollRound, None]:
        """Every `interval` seconds, `get_backends(names, max_age=max_age)` as a `PollRound`: for
        a service that needs each round (data age, metrics, history) as well as its changes.
        `names` may be a callable, asked each round. Rounds run start to start, jittered by
        `jitter` so that pollers drift apart, never overlapping, until cancelled or closed."""
        fetch = functools.partial(self.get_backends, max_age=_params.max_age(max_age))
        return poll(fetch, names, interval=interval, jitter=jitter, ignore=ignore,
                    sleep=self._sleep, random=self._random)  # fmt: skip

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
        event whose `previous` is the last good value; a backend missing from `GONE_AFTER_ROUNDS`
        rounds in a row yields one `gone` event. Only cancellation or `aclose()` ends it."""
        return changes(self.poll(names, interval=interval, jitter=jitter, ignore=ignore))

    # Characterizations

    async def get_characterization(
        self, backend: str, characterization_id: str
    ) -> Characterization:
        """One characterization by id."""
        request = self._profile.characterization(
            segment(backend, "backend name"), segment(characterization_id, "characterization id")
        )
        return (await self._caller.get(request, structurer(self._converter, Characterization)))[0]

    async def latest_characterization(self, backend: str) -> Characterization | None:
        """The newest characterization of `backend`, or `None` when the API has none."""
        request = self._profile.latest_characterization(segment(backend, "backend name"))
        try:
            reply = await self._caller.reply(request)
        except APIStatusError as error:
            if error.status_code in self._profile.latest_absent_statuses:
                return None
            raise
        return self._caller.parse(
            reply, lambda data: self._profile.latest_from(data, self._converter), request
        )

    async def latest_characterizations(
        self, names: Iterable[str] | None = None
    ) -> CharacterizationsSnapshot:
        """The latest characterization of many backends, fetched concurrently (as get_backends).

        A backend with none maps to `None`; each backend's failure lands in `errors` alone.
        """
        wanted = whole_fleet() if names is None else _params.backend_names(names)
        if names is None:
            with contextlib.suppress(IonQError):  # without the list, the known names
                wanted = whole_fleet(b.name for b in await self.list_backends())
        self._transport.check_open()
        found, errors = await settle(wanted, self.latest_characterization)
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
        structure = structurer(self._converter, CharacterizationPage)
        return pages(self._caller, lambda number: self._profile.characterizations(
            quoted, {**params, "page": str(number)}), structure, page_size)  # fmt: skip

    async def characterization_of(self, backend: Backend | str) -> Characterization | None:
        """The characterization a `Backend` links to, or the latest one for a backend name."""
        if isinstance(backend, Backend):
            if backend.characterization_id:
                return await self.get_characterization(backend.name, backend.characterization_id)
            backend = backend.name
        return await self.latest_characterization(backend)

    # Internals

    def _asked_for(self, names: Iterable[str]) -> Plan:  # each name's request, or its error
        return asked(self._profile, names, verbose=self._verbose)

    def _pick(self, request: Request, reply: Reply, name: str, *, listed: bool = False) -> Backend:
        if not listed and self._profile.answers_with_the_backend:  # the usual poll: no search
            backend = self._caller.parse(reply, self._backend_hook, request)
        else:
            select = self._profile.select_listed if listed else self._profile.select_backend

            def pick(data: Any) -> Backend:
                where, item = select(data, name)
                return self._backend(item, where)

            # An item of a list that cannot be read is that name's error alone: the list stays.
            backend = self._caller.parse(reply, pick)
        return unknown_access(backend) if reply.anonymous else backend
