"""The call loop: one GET from `Request` to parsed value, and the one error boundary.

`Caller.get` runs, in one function: an attempt (`Transport.attempt`, I/O only), deciphering the
answer (`_wire.decipher_response`, pure), the redirect policy, the 401-on-public key fallback, the
retry policy (`_retry`, pure) and the parse. Every exception that leaves a public call becomes an
`IonQError` here, in `as_ionq_error`, with its method, path and request id attached and the key
scrubbed from what the server said. `Caller.reply` also shares one request among identical GETs
in flight (single-flight) and answers from memory what is younger than a caller's `max_age`.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from time import monotonic
from typing import Any, NamedTuple, TypeVar

import aiohttp
from cattrs.errors import BaseValidationError
from yarl import URL

from ._constants import MAX_REDIRECTS, MAX_REMEMBERED
from ._errors import APIConnectionError, APIStatusError, APITimeoutError, IonQError
from ._errors import ResponseValidationError as Invalid
from ._logging import logger
from ._retry import RetryPolicy
from ._scrub import Scrubber
from ._signals import cancel_and_wait
from ._transport import Attempt, Transport
from ._urls import same_origin
from ._wire import Request, decipher_response
from ._wire.converter import problems
from ._wire.hooks import Invalid as Unfit

__all__ = ["Caller", "Reply", "Sleep", "as_ionq_error", "collect", "recording", "settle"]

T = TypeVar("T")
K = TypeVar("K")
Sleep = Callable[[float], Awaitable[None]]
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# While a body is parsed, these are the server's doing: a body no parser foresaw.
_UNREADABLE = (ValueError, TypeError, ArithmeticError, RecursionError, LookupError)


class Reply(NamedTuple):
    """A successful answer: its JSON and the HTTP facts of the call that got it."""

    data: Any
    path: str
    request_id: str | None
    status: int
    headers: Mapping[str, str]
    attempts: int  # the client's own attempts, retries included, redirects not
    elapsed: float  # seconds from the first attempt to the answer
    received: float  # when it came, on the `time.monotonic()` clock
    anonymous: bool = False  # sent without the key, after the API rejected it


# The replies of the calls made in this context, for `with_raw_response` (None: nobody asks).
_replies: ContextVar[list[Reply] | None] = ContextVar("ionq_backends_replies", default=None)


async def recording(call: Awaitable[T]) -> tuple[T, Reply]:
    """Await `call` (one client method) and return its value with the last reply it got."""
    replies: list[Reply] = []
    token = _replies.set(replies)
    try:
        value = await call
    finally:
        _replies.reset(token)
    return value, replies[-1]


class Caller:
    """Runs GETs for one client: the policy around its transport's attempts."""

    def __init__(
        self,
        transport: Transport,
        policy: RetryPolicy,
        *,
        sleep: Sleep,
        random: Callable[[], float],
        max_age: float | None = None,
    ) -> None:
        self.transport = transport
        self.max_age = max_age  # seconds an answer may be reused for, unless a call says
        self.policy = policy
        self._sleep = sleep
        self._random = random
        # After a 401 to the key on a public endpoint, public requests go without it.
        self.key_rejected = False
        # What the latest failed attempt met, whether or not it was retried.
        self.last_failure: IonQError | None = None
        self._flights: dict[Request, _Flight] = {}  # identical GETs in flight share one task
        self._answers: dict[Request, Reply] = {}  # the latest answer to each

    def derive(self, transport: Transport, policy: RetryPolicy) -> Caller:
        """A caller with another transport and policy (`with_options`), its own flights."""
        child = copy.copy(self)
        child.transport, child.policy = transport, policy
        child._flights, child._answers = {}, {}
        return child

    async def get(
        self, request: Request, parse: Callable[[Any], T], max_age: float | None = None
    ) -> tuple[T, Reply]:
        """GET `request` and `parse` its JSON; only an `IonQError` (or a cancel) leaves it."""
        reply = await self.reply(request, max_age)
        return self.parse(reply, parse, request), reply

    def parse(self, reply: Reply, parse: Callable[[Any], T], request: Request | None = None) -> T:
        """`parse(reply.data)`; whatever it raises about the body names the request. Given the
        `request` it answers (`parse` reads the whole answer), a failure also drops the answer
        kept for it: an answer that could not be read never comes from memory."""
        try:
            return parse(reply.data)
        except Exception as exc:
            if request is not None and self._answers.get(request) is reply:
                del self._answers[request]
            error = self._placed(exc, reply.path, reply.request_id, parsing=True)
            raise error from error.__cause__

    async def reply(self, request: Request, max_age: float | None = None) -> Reply:
        """GET `request` until it answers 2xx, or raise the `IonQError` it ended with.

        The answer comes from memory if one younger than `max_age` seconds is kept; else from
        the request already in flight for the same GET, if any (`_Flight` says what a cancel
        does to it).
        """
        self.transport.check_open()  # a closed client is the caller's mistake: RuntimeError
        max_age = self.max_age if max_age is None else max_age
        if max_age is not None and (kept := self.kept(request, max_age)) is not None:
            return _recorded(kept)
        flight = self._flights.get(request)
        if flight is not None:  # the same GET is in flight: wait for its outcome
            return _recorded(await self._join(request, flight))
        flight = self._flights[request] = _Flight()
        try:
            reply = await self._send(request)
        except asyncio.CancelledError:
            if flight.waiting():  # others wait for it: the request goes on for them alone
                self._hand_over(request, flight, max_age)
            else:
                self._land(request, flight, max_age)
            raise
        except BaseException as error:
            self._land(request, flight, max_age, error)
            raise
        self._land(request, flight, max_age, reply)
        return _recorded(reply)

    async def _join(self, request: Request, flight: _Flight) -> Reply:
        """Wait for the outcome of the flight of `request`, sent by another caller."""
        waiter = asyncio.get_running_loop().create_future()
        flight.waiters.append(waiter)
        try:
            reply: Reply = await waiter
        except asyncio.CancelledError:
            flight.waiters.remove(waiter)
            if not waiter.cancelled() and waiter.done():
                waiter.exception()  # it came as this caller left: nobody else will read it
            task = flight.task
            if task is not None and not flight.waiting():  # the last one left: the request ends
                self._abandon(request, flight)
                task.cancel()
                await asyncio.wait([task])  # the request ends before its last caller does
            raise
        return reply

    def kept(self, request: Request, max_age: float) -> Reply | None:
        """The answer kept for `request`, if one is no older than `max_age` seconds."""
        kept = self._answers.get(request)
        return kept if kept is not None and monotonic() - kept.received <= max_age else None

    def _hand_over(self, request: Request, flight: _Flight, max_age: float | None) -> None:
        """Send `request` again in a task of its own, for the callers of `flight` still waiting.

        A callback, not the task's own code, ends the flight: it runs even if the task is
        cancelled before it ever starts. (Here, not in `reply`: a closure there would turn its
        locals into cells on every call.)
        """
        flight.task = asyncio.create_task(self._send(request))
        flight.task.add_done_callback(lambda _: self._land(request, flight, max_age))

    def _abandon(self, request: Request, flight: _Flight) -> None:
        """Take `flight` out of the GETs in flight: a caller from now on sends its own."""
        if self._flights.get(request) is flight:
            del self._flights[request]

    def _land(
        self,
        request: Request,
        flight: _Flight,
        max_age: float | None,
        outcome: Reply | BaseException | None = None,
    ) -> None:
        """End a flight: each caller still waiting gets its outcome. A re-sent flight's outcome
        is its task's. An answer is kept when the call had a `max_age`, or replaces one kept
        before; with neither (the default) nothing is kept, nor paid for."""
        self._abandon(request, flight)
        task = flight.task
        if task is not None:
            outcome = None if task.cancelled() else (task.exception() or task.result())
        if isinstance(outcome, Reply):
            if max_age is not None or (self._answers and request in self._answers):
                self._answers.pop(request, None)  # the newest last: the oldest is evicted first
                self._answers[request] = outcome
                if len(self._answers) > MAX_REMEMBERED:
                    del self._answers[next(iter(self._answers))]
        elif not isinstance(outcome, Exception):  # cancelled, or the process is ending
            path = self.transport.path(request.path)
            cancelled = APIConnectionError("the request was cancelled before it was answered")
            outcome = self._placed(cancelled, path, None)
        for waiter in flight.waiters:
            if waiter.done():
                continue
            if isinstance(outcome, Reply):
                waiter.set_result(outcome)
            else:  # each its own copy: a traceback each
                own = outcome.with_context(method=None, path=None) if isinstance(
                    outcome, IonQError) else outcome  # fmt: skip
                waiter.set_exception(own)

    async def _send(self, request: Request) -> Reply:
        """The one request of a flight: attempts until 2xx or the error it ended with."""
        transport = self.transport
        url = transport.url(request.path, request.params)
        path = transport.path(request.path)
        keyless = request.public and self.key_rejected
        retry = redirects = 0
        began = monotonic()
        while True:
            attempt: Attempt | None = None
            try:
                attempt = await transport.attempt(url, keyless=keyless)
                location = attempt.headers.get("Location") if attempt.status in _REDIRECTS else None
                if location:
                    url = redirect_target(transport.root, url, location, redirects, attempt)
                    redirects += 1
                    continue
                data = decipher_response(attempt.status, attempt.headers, attempt.body)
            except Exception as exc:
                if attempt is None and _cancelling():
                    # The caller's deadline or cancel landed while aiohttp was waiting.
                    raise asyncio.CancelledError from None
                request_id = attempt.headers.get("x-request-id") if attempt else None
                failure = self.last_failure = self._placed(exc, path, request_id)
            else:
                _log(path, attempt, retry)
                now = monotonic()
                return Reply(data, path, attempt.headers.get("x-request-id"), attempt.status,
                             attempt.headers, retry + 1, now - began, now, keyless)  # fmt: skip
            status = attempt.status if attempt else None
            _log(path, attempt or failure, retry)
            # What the server sent stays in no frame an error reporter reads: it may echo the key.
            attempt = location = None
            if transport.closed:
                raise self._placed(APIConnectionError("the client was closed"), path, None)
            if status == 401 and request.public and transport.has_key and not keyless:
                self._reject_key()
                keyless = True
                continue  # once more without the key, at once: not a retry of a failure
            decision = self.policy.decide(
                retry,
                status=status,
                retry_after=getattr(failure, "retry_after", None),
                random=self._random,
            )
            # A body that came whole and is wrong comes the same again: never retried.
            if not decision.retry or isinstance(failure, Invalid):
                raise failure
            logger.info("retrying GET %s in %.2fs (retry %d of %d)",
                        path, decision.delay, retry + 1, self.policy.max_retries)  # fmt: skip
            if await self._closed_while_waiting(decision.delay):
                raise self._placed(APIConnectionError("the client was closed"), path, None)
            retry += 1

    async def _closed_while_waiting(self, delay: float) -> bool:
        """Wait `delay` seconds before a retry; True if the client was closed meanwhile (the
        wait then ends at once: a closed client's requests end when it closes)."""
        sleeping = asyncio.ensure_future(self._sleep(delay))
        closing = asyncio.ensure_future(self.transport.wait_closed())
        try:
            await asyncio.wait([sleeping, closing], return_when=asyncio.FIRST_COMPLETED)
        finally:
            await cancel_and_wait(sleeping, closing)
        return self.transport.closed

    def _reject_key(self) -> None:
        """From now on, send public requests without the key (one WARNING per client)."""
        if not self.key_rejected:
            self.key_rejected = True
            logger.warning(
                "the API answered 401 to the API key on a public endpoint; public requests of "
                "this client now go without the key (characterizations keep it)"
            )

    def _placed(
        self, exc: BaseException, path: str, request_id: str | None, *, parsing: bool = False
    ) -> IonQError:
        error = as_ionq_error(exc, timeout=self.transport.timeout.total, parsing=parsing)
        placed = error.with_context(method="GET", path=path, request_id=request_id)
        _forget_frames(exc, self.transport.scrubber)
        return self.transport.scrubber.error(placed)


class _Flight:
    """One GET in flight: the futures of the callers that joined the one that sent it.

    The sender awaits the request itself: a task per request would cost 33k instructions (6%)
    on every call for what only a cancelled sender with others waiting needs. When that
    happens, the request is sent again in a task of its own for the others: they get the
    answer or the error, never the sender's cancel. When the last of them leaves too, the
    flight is taken out of the GETs in flight before its task is cancelled, so that nobody
    joins a flight that will not answer.
    """

    __slots__ = ("task", "waiters")

    def __init__(self) -> None:
        self.task: asyncio.Task[Reply] | None = None  # the resend, once the sender was cancelled
        self.waiters: list[asyncio.Future[Reply]] = []

    def waiting(self) -> bool:
        """Whether a caller still waits (a cancelled one may not have left the list yet)."""
        return any(not waiter.done() for waiter in self.waiters)


def _recorded(reply: Reply) -> Reply:
    """`reply`, recorded for `with_raw_response` in the caller's own context."""
    if (replies := _replies.get()) is not None:
        replies.append(reply)
    return reply


def _forget_frames(exc: BaseException, scrubber: Scrubber | None = None) -> None:
    """Drop the frames of `exc` and of every error chained to it, keeping types and messages
    (scrubbed of the key, with a `scrubber`: a server may echo it into what aiohttp says):
    below the call loop they hold the request's headers, the key among them, and error
    reporters (Sentry, by default) read every frame's locals and print every chained message.
    The error raised in their place gets its frames from the call loop up."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        error = stack.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        error.__traceback__ = None
        if scrubber is not None:
            scrubber.chained(error)
        stack += [error.__cause__, error.__context__]


def as_ionq_error(
    exc: BaseException, *, timeout: float | None = None, parsing: bool = False
) -> IonQError:
    """`exc` as the `IonQError` a caller sees: itself if it is one, else one caused by it.

    The one table from what aiohttp, asyncio and the parsers raise to the `IonQError` family.
    """
    if isinstance(exc, IonQError):
        return exc
    error: IonQError
    if isinstance(exc, aiohttp.ClientError):  # connect and sock_read timeouts say which
        described = _describe(exc)
        error = APITimeoutError(described) if isinstance(exc, TimeoutError) else (
            APIConnectionError(described))  # fmt: skip
    elif isinstance(exc, TimeoutError):  # the attempt's total
        error = APITimeoutError(f"timed out after {timeout:g}s" if timeout else "timed out")
    elif parsing and isinstance(exc, Unfit | BaseValidationError):  # a converter's problems
        error = Invalid(problems(exc))
    elif parsing and isinstance(exc, _UNREADABLE):
        error = Invalid([("", f"unreadable body ({type(exc).__name__}: {str(exc)[:80]})")])
    else:
        error = IonQError(f"unexpected {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error


def collect(keys: Iterable[K], call: Callable[[K], T]) -> tuple[dict[K, T], dict[K, IonQError]]:
    """`call(key)` for every key: each key's value, or the `IonQError` it ended with.

    One key's failure is its own, whatever it is; the order of `keys` is kept.
    """
    found: dict[K, T] = {}
    errors: dict[K, IonQError] = {}
    for key in dict.fromkeys(keys):
        try:
            found[key] = call(key)
        except Exception as exc:
            errors[key] = as_ionq_error(exc)
    return found, errors


async def settle(
    keys: Iterable[K], call: Callable[[K], Awaitable[T]]
) -> tuple[dict[K, T], dict[K, IonQError]]:
    """`collect`, with every `call(key)` awaited concurrently."""
    outcomes: dict[K, T | Exception] = {}

    async def one(key: K) -> None:
        try:
            outcomes[key] = await call(key)
        except Exception as exc:
            outcomes[key] = exc

    wanted = list(dict.fromkeys(keys))
    async with asyncio.TaskGroup() as group:
        for key in wanted:
            group.create_task(one(key))
    return collect(wanted, lambda key: _unwrap(outcomes[key]))


def _unwrap(outcome: T | Exception) -> T:
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def redirect_target(root: URL, url: URL, location: str, hops: int, attempt: Attempt) -> URL:
    """Where a redirect leads, if it may be followed: same origin, at most MAX_REDIRECTS."""
    try:
        target = url.join(URL(location))
        foreign = not same_origin(root, target)
    except (ValueError, TypeError):  # a bad port, a broken IPv6 literal, ...
        target, foreign = None, True
    if target is None:
        message = "refused redirect to a malformed Location"
    elif foreign:
        message = f"refused redirect to another origin ({target.scheme}://{target.host})"
    elif target.user is not None or target.password is not None:
        message = "refused redirect to a Location carrying credentials"
    elif hops >= MAX_REDIRECTS:
        message = f"more than {MAX_REDIRECTS} redirects"
    else:
        return target
    raise APIStatusError(message, status_code=attempt.status)


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _describe(exc: aiohttp.ClientError) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):  # the cause, not aiohttp's ssl:default [...]
        where = f"{exc.host}:{exc.port}"
        if isinstance(exc.os_error, ConnectionRefusedError):
            return f"connection refused to {where}"
        reason = exc.os_error.strerror or str(exc.os_error) or type(exc.os_error).__name__
        return f"cannot connect to {where}: {reason}"
    # aiohttp's messages name the host and port, never headers: safe to keep.
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text


def _log(path: str, outcome: Attempt | IonQError, retry: int) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        if isinstance(outcome, Attempt):
            result, elapsed = f"{outcome.status}", f" elapsed={outcome.elapsed:.3f}s"
        else:
            result, elapsed = type(outcome).__name__, ""
        logger.debug("GET %s -> %s attempt=%d%s", path, result, retry + 1, elapsed)
