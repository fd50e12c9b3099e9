"""The history in SQLite (stdlib sqlite3): the schema, its migrations, and the I/O.

`HistoryDB` is synchronous and owned by one thread. `History` gives the event loop an async
face: one writer thread (every write, one transaction per round) and one reader thread (queries
run beside writes, as WAL allows), so neither a slow disk nor a long query blocks polling.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, Final, TypeVar

from .._humanize import encodable
from .._logging import package_logger
from ._constants import LOGGER_NAME, MAX_PENDING_WRITES
from ._history import EventRow, SampleRow, SeriesRow
from ._sqlite import HistoryError, begin, connect, key, locked, named, rollback, text_row

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "History", "HistoryDB", "HistoryError", "migrate"]

T = TypeVar("T")
logger = package_logger(LOGGER_NAME)

# PRAGMA application_id marks the file as ours ("IonQ"), so a wrong --db path is refused
# instead of written into.
APPLICATION_ID: Final = 0x496F6E51

# Migration N (1-based) takes a database from user_version N-1 to N. Append, never edit: a
# deployed database has run the ones before it.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            ts REAL NOT NULL,
            backend TEXT NOT NULL,
            kind TEXT NOT NULL,
            status TEXT,
            fields TEXT NOT NULL,
            detail TEXT NOT NULL
        )""",
        "CREATE INDEX events_backend_ts ON events (backend, ts)",
        "CREATE INDEX events_ts ON events (ts)",
        """CREATE TABLE samples (
            backend TEXT NOT NULL,
            bucket INTEGER NOT NULL,
            polls INTEGER NOT NULL,
            ok INTEGER NOT NULL,
            up INTEGER NOT NULL,
            queue_sum REAL NOT NULL,
            queue_n INTEGER NOT NULL,
            queue_max REAL,
            PRIMARY KEY (backend, bucket)
        ) WITHOUT ROWID""",
        "CREATE INDEX samples_bucket ON samples (bucket)",
    ),
)
SCHEMA_VERSION: Final = len(MIGRATIONS)

_UPSERT = """
INSERT INTO samples (backend, bucket, polls, ok, up, queue_sum, queue_n, queue_max)
VALUES (?, ?, 1, ?, ?, coalesce(?, 0), ? IS NOT NULL, ?)
ON CONFLICT (backend, bucket) DO UPDATE SET
    polls = polls + 1,
    ok = ok + excluded.ok,
    up = up + excluded.up,
    queue_sum = queue_sum + excluded.queue_sum,
    queue_n = queue_n + excluded.queue_n,
    queue_max = CASE
        WHEN excluded.queue_max IS NULL THEN queue_max
        WHEN queue_max IS NULL THEN excluded.queue_max
        ELSE max(queue_max, excluded.queue_max)
    END
"""
_SERIES = """
SELECT backend, (bucket / :step) * :step AS t, sum(polls), sum(ok), sum(up), sum(queue_sum),
       sum(queue_n), max(queue_max)
FROM samples
WHERE bucket >= :since AND bucket < :until AND (:backend IS NULL OR backend = :backend)
GROUP BY backend, t
ORDER BY backend, t
"""
_EVENTS = """
SELECT ts, backend, kind, status, fields, detail FROM (
    SELECT id, ts, backend, kind, status, fields, detail FROM events
    WHERE ts >= :since AND ts < :until AND (:backend IS NULL OR backend = :backend)
    ORDER BY ts DESC, id DESC LIMIT :limit
) ORDER BY ts, id
"""


def identify(conn: sqlite3.Connection, migrations: Sequence[Sequence[str]] = MIGRATIONS) -> int:
    """The schema version of an ionq-backends history (0 for an empty file), or `HistoryError`.
    It only reads: a file that is not ours is left as it was, byte for byte."""
    app_id = locked(conn, "PRAGMA application_id").fetchone()[0]
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if app_id not in (0, APPLICATION_ID) or (app_id == 0 and version != 0):
        raise HistoryError("not an ionq-backends history database (application_id differs)")
    if version == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        raise HistoryError("not an ionq-backends history database (it holds other tables)")
    if version > len(migrations):
        raise HistoryError(
            f"history schema {version} is newer than this ionq-backends knows "
            f"({len(migrations)}); upgrade ionq-backends or use another --db"
        )
    return version


def migrate(conn: sqlite3.Connection, migrations: Sequence[Sequence[str]] = MIGRATIONS) -> int:
    """Bring the schema to `len(migrations)`, one transaction per step; return the version."""
    for target in range(identify(conn, migrations) + 1, len(migrations) + 1):
        begin(conn)
        try:
            for statement in migrations[target - 1]:
                conn.execute(statement)
            # Pragmas take no parameters; both values are integers of ours.
            conn.execute(f"PRAGMA user_version = {int(target)}")
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            raise
    return len(migrations)


class HistoryDB:
    """One connection to the history file; use it from one thread only."""

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False) -> None:
        self.path = Path(path)
        with named(self.path):
            self._conn = connect(self.path)
            try:
                if readonly:
                    self._conn.execute("PRAGMA query_only = ON")
                else:
                    identify(self._conn)  # before anything writes: a file not ours stays as it is
                    # WAL: readers never block the writer. synchronous=NORMAL: a commit survives
                    # the process dying (kill -9); on power loss the last commits may roll back.
                    mode = locked(self._conn, "PRAGMA journal_mode = WAL").fetchone()[0]
                    if mode.lower() != "wal":
                        raise HistoryError(f"SQLite refused WAL mode ({mode})")
                    self._conn.execute("PRAGMA synchronous = NORMAL")
                    migrate(self._conn)
                version = self._conn.execute("PRAGMA user_version").fetchone()[0]
                if readonly and version != SCHEMA_VERSION:
                    raise HistoryError(f"schema {version}, expected {SCHEMA_VERSION}")
            except BaseException:
                self._conn.close()
                raise

    def close(self) -> None:
        self._conn.close()

    def record(self, samples: Sequence[SampleRow], events: Sequence[EventRow]) -> None:
        """One round, in one transaction: its samples and its change events."""
        with named(self.path):
            self._record(samples, events)

    def _record(self, samples: Sequence[SampleRow], events: Sequence[EventRow]) -> None:
        conn = self._conn
        begin(conn)
        try:
            conn.executemany(_UPSERT, [(encodable(s.backend), s.bucket, s.ok, s.up, s.queue,
                                        s.queue, s.queue) for s in samples])  # fmt: skip
            conn.executemany(
                "INSERT INTO events (ts, backend, kind, status, fields, detail)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [text_row(event) for event in events],
            )
            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            raise

    def prune(self, before: float) -> int:
        """Delete samples and events older than `before` (Unix seconds); return the rows gone."""
        conn = self._conn
        with named(self.path):
            begin(conn)
            try:
                gone = conn.execute("DELETE FROM samples WHERE bucket < ?", (before,)).rowcount
                gone += conn.execute("DELETE FROM events WHERE ts < ?", (before,)).rowcount
                conn.execute("COMMIT")
            except BaseException:
                rollback(conn)
                raise
        return int(gone)

    def series(self, backend: str | None, since: float, until: float, step: int) -> list[SeriesRow]:
        """Buckets in [since, until) summed by `step` seconds, per backend."""
        start = int(since) - int(since) % step
        rows = locked(
            self._conn,
            _SERIES,
            {"step": step, "since": start, "until": until, "backend": key(backend)},
        )
        return [SeriesRow(*row) for row in rows]

    def events(
        self, backend: str | None, since: float, until: float, limit: int
    ) -> list[tuple[Any, ...]]:
        """The newest `limit` events in [since, until), oldest first."""
        params = {"since": since, "until": until, "backend": key(backend), "limit": limit}
        return list(locked(self._conn, _EVENTS, params))

    def counts(self) -> dict[str, int]:
        """Rows and recorded polls, for tests and operators."""
        samples, polls = self._conn.execute(
            "SELECT count(*), coalesce(sum(polls), 0) FROM samples"
        ).fetchone()
        events = self._conn.execute("SELECT count(*) FROM events").fetchone()[0]
        return {"samples": samples, "polls": polls, "events": events}


class History:
    """The history for the event loop: writes queued to one thread, reads on another."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        retention: float,
        on_write_error: Callable[[str], None] = lambda reason: None,
    ) -> None:
        self.path = Path(path)
        self.retention = retention
        self._on_write_error = on_write_error
        self._writer_pool: ThreadPoolExecutor | None = None
        self._reader_pool: ThreadPoolExecutor | None = None
        self._writer: HistoryDB | None = None
        self._reader: HistoryDB | None = None
        self._pending: set[asyncio.Future[None]] = set()

    async def open(self) -> None:
        """Open (creating or migrating) the file; a `HistoryError` says why it cannot."""
        self._writer_pool = ThreadPoolExecutor(1, thread_name_prefix="ionq-history-writer")
        self._reader_pool = ThreadPoolExecutor(1, thread_name_prefix="ionq-history-reader")
        try:
            self._writer = await self._write(partial(HistoryDB, self.path))
            self._reader = await self._read(partial(HistoryDB, self.path, readonly=True))
        except BaseException:
            await self.close()
            raise

    async def _write(self, call: Callable[[], T]) -> T:
        assert self._writer_pool is not None
        return await asyncio.get_running_loop().run_in_executor(self._writer_pool, call)

    async def _read(self, call: Callable[[], T]) -> T:
        assert self._reader_pool is not None
        return await asyncio.get_running_loop().run_in_executor(self._reader_pool, call)

    def submit(self, samples: Sequence[SampleRow], events: Sequence[EventRow]) -> None:
        """Queue one round's write and return at once; a full queue drops the round (counted)."""
        writer, pool = self._writer, self._writer_pool
        if writer is None or pool is None:
            return
        if len(self._pending) >= MAX_PENDING_WRITES:
            self._on_write_error("backlog")
            logger.error("history: %d writes pending; dropping this round", len(self._pending))
            return
        future = asyncio.get_running_loop().run_in_executor(pool, writer.record, samples, events)
        self._pending.add(future)
        future.add_done_callback(self._written)

    def _written(self, future: asyncio.Future[None]) -> None:
        self._pending.discard(future)
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            self._on_write_error(type(exc.__cause__ or exc).__name__)
            logger.error("history: a round was not written: %s", exc)

    async def flush(self) -> None:
        """Wait for every queued write."""
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def prune(self, now: float | None = None) -> int:
        """Delete rows older than the retention."""
        writer = self._writer
        if writer is None:
            return 0
        before = (time.time() if now is None else now) - self.retention
        return await self._write(partial(writer.prune, before))

    async def series(
        self, backend: str | None, since: float, until: float, step: int
    ) -> list[SeriesRow]:
        assert self._reader is not None
        return await self._read(partial(self._reader.series, backend, since, until, step))

    async def events(
        self, backend: str | None, since: float, until: float, limit: int
    ) -> list[tuple[Any, ...]]:
        assert self._reader is not None
        return await self._read(partial(self._reader.events, backend, since, until, limit))

    async def close(self) -> None:
        """Finish queued writes, then close both connections in their own threads."""
        await self.flush()
        for db, pool in ((self._reader, self._reader_pool), (self._writer, self._writer_pool)):
            if pool is None:
                continue
            if db is not None:
                await asyncio.get_running_loop().run_in_executor(pool, db.close)
            pool.shutdown(wait=True)  # idle by now: returns at once
        self._reader = self._writer = None
        self._reader_pool = self._writer_pool = None
