"""The monitor's lifetime: one client, one fleet-wide polling loop, characterizations, history.

The loop is one fleet-wide `IonQClient.poll()`, the iterator `watch()` is built on: each round
hands over the snapshot as well as `watch()`'s change events, because the data age, the per-round
samples, the failed-fetch counter, the round duration and /healthz all come from rounds.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime

from .._call import settle
from .._client import IonQClient
from .._constants import GONE_AFTER_ROUNDS
from .._errors import IonQError
from .._humanize import printable
from .._logging import package_logger
from .._models import Characterization, PollRound
from .._signals import cancel_and_wait
from ._constants import LOGGER_NAME, PRUNE_EVERY
from ._history import event_rows, sample_rows
from ._metrics import Metrics
from ._sse import Broadcaster
from ._state import FleetState
from ._store import History

__all__ = ["Monitor"]

logger = package_logger(LOGGER_NAME)


def _now() -> datetime:
    return datetime.now(UTC)


class Monitor:
    """Everything one app keeps for its lifetime; `start()` and `stop()` bracket it."""

    def __init__(
        self,
        *,
        client_factory: Callable[[], IonQClient],
        names: list[str] | None,
        interval: float,
        jitter: float,
        db_path: str | os.PathLike[str],
        retention: float,
        sample_seconds: int,
        stale_after: float,
    ) -> None:
        self.interval = interval
        self.jitter = jitter
        self.sample_seconds = sample_seconds
        self.fixed_names = names
        self.state = FleetState(names or (), stale_after=stale_after)
        self.metrics = Metrics(self.state)
        self.hub = Broadcaster()
        write_errors = self.metrics.history_write_errors
        self.history = History(
            db_path,
            retention=retention,
            on_write_error=lambda reason: write_errors.labels(reason=reason).inc(),
        )
        self.client: IonQClient | None = None
        self._client_factory = client_factory
        self._characterize = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # Lifetime

    async def start(self) -> None:
        """Open the history, make the client, start polling (from the app's cleanup_ctx)."""
        await self.history.open()
        try:
            self.client = self._client_factory()
            await self.history.prune()
        except BaseException:
            await self.history.close()
            raise
        self._tasks = [
            asyncio.create_task(self._poll(), name="ionq-serve-poll"),
            asyncio.create_task(self._characterizations(), name="ionq-serve-characterizations"),
            asyncio.create_task(self._prune(), name="ionq-serve-prune"),
        ]

    def shutting_down(self) -> None:
        """End every event stream now, so that the server need not wait for them."""
        self.hub.close()

    async def stop(self) -> None:
        """Stop polling, then close the client and the history (queued writes finish first)."""
        self.hub.close()
        tasks, self._tasks = self._tasks, []
        try:
            await cancel_and_wait(*tasks)  # a task that had failed raises here, after the close
        finally:
            try:
                if self.client is not None:
                    await self.client.close()
            finally:
                await self.history.close()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Return once `predicate()` holds, checked after every update (tests and embedders)."""
        seen = self.hub.version
        while not predicate():
            update = await self.hub.next(seen)
            if update is None:
                raise RuntimeError("the monitor stopped")
            seen = update[0]

    async def wait_rounds(self, count: int) -> None:
        """Return once `count` rounds have been folded in."""
        await self.wait_for(lambda: self.state.rounds >= count)

    # Polling

    async def _poll(self) -> None:
        client = self.client
        assert client is not None
        while True:
            # The whole fleet by default, as watch() asks for it: what the API lists each round,
            # and every BackendName. A name it lists no more goes missing from the rounds, and
            # is forgotten when the round says it is gone.
            # max_age=0: every round asks afresh, and the client keeps what it got, for IonQ's
            # endpoints to answer from (`_ionq_api`).
            rounds = client.poll(
                self.fixed_names, interval=self.interval, jitter=self.jitter, max_age=0
            )
            try:
                async for poll_round in rounds:
                    try:
                        self._fold(poll_round)
                    except Exception:  # a bug here must not stop the monitoring
                        logger.exception("could not fold a polling round in")
            except Exception:  # nor one in a round; /healthz reports "stalled" meanwhile
                logger.exception("a polling round failed")
                await asyncio.sleep(self.interval)
            finally:
                await rounds.aclose()

    def _fold(self, poll_round: PollRound) -> None:
        snapshot, changes = poll_round.snapshot, poll_round.changes
        started_at, duration = poll_round.started_at, poll_round.duration
        self.state.apply_round(snapshot, started_at, duration)
        self.metrics.observe_round(snapshot, duration)
        self.history.submit(
            sample_rows(snapshot, started_at, self.sample_seconds),
            event_rows(changes, started_at),
        )
        for change in changes:
            if change.gone:
                self.state.forget(change.name)
                self.metrics.forget(change.name)
                logger.info("%s: gone (not listed for %d rounds)", change.name, GONE_AFTER_ROUNDS)
            elif change.error is not None:
                logger.warning("%s: %s", change.name, change.error)
            elif change.previous is not None and not change.changed_fields:
                logger.info("%s: recovered", change.name)
        if self.state.characterizations_due(_now()):
            self._characterize.set()
        self.publish()

    def publish(self) -> None:
        """Send the fleet to every live page."""
        payload = json.dumps(self.state.to_json(_now(), self.interval), separators=(",", ":"))
        self.hub.publish(payload)

    # Characterizations and retention

    async def _characterizations(self) -> None:
        client = self.client
        assert client is not None
        while True:
            await self._characterize.wait()
            self._characterize.clear()
            try:
                await self._characterize_due(client)
            except Exception:  # a bug must not end the worker
                logger.exception("characterizations: could not refresh")

    async def _characterize_due(self, client: IonQClient) -> None:
        due = self.state.characterizations_due(_now())
        if not due:
            return
        for backend in due:
            self.state.characterization_started(backend.name)
        by_name = {backend.name: backend for backend in due}
        found: dict[str, Characterization | None] = {}
        errors: dict[str, IonQError] = {}
        try:
            # One concurrent fan-out, bounded by the client's own max_concurrency.
            found, errors = await settle(by_name, lambda n: client.characterization_of(by_name[n]))
        finally:  # whatever happened, nothing stays "in flight" for ever
            now = _now()
            unfinished = IonQError("the characterization fetch did not finish")
            for name, backend in by_name.items():
                result = found[name] if name in found else errors.get(name, unfinished)
                self.state.set_characterization(backend, result, now)
        for name, error in errors.items():
            logger.warning("%s: characterization: %s", printable(name), error)
        self.publish()

    async def _prune(self) -> None:
        while True:
            await asyncio.sleep(PRUNE_EVERY)
            try:
                gone = await self.history.prune()
            except Exception:
                logger.exception("history: pruning failed")
            else:
                if gone:
                    logger.info("history: pruned %d rows older than the retention", gone)
