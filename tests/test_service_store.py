"""The monitor's SQLite history: schema and migrations, retention, restarts, and `kill -9`."""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ionq_backends.emulator import Emulator
from ionq_backends.service import MONITOR, HistoryError, create_app
from ionq_backends.service import _store as store
from ionq_backends.service._history import EventRow, SampleRow
from ionq_backends.service._store import (
    APPLICATION_ID,
    MIGRATIONS,
    SCHEMA_VERSION,
    History,
    HistoryDB,
    migrate,
)

from .conftest import read_line
from .factories import CLEAN_ENV
from .service_support import running

NOW = 1_794_999_960.0  # a Unix time on a minute boundary (2026-11-18)


def sample(backend: str, at: float, *, ok: int = 1, up: int = 1, queue: float | None = 60.0) -> Any:
    return SampleRow(backend, int(at) - int(at) % 60, ok, up, queue)


def event(backend: str, at: float, kind: str = "change") -> EventRow:
    return EventRow(at, backend, kind, "available", '["status"]', '{"status": ["a", "b"]}')


def test_a_new_file_gets_wal_the_schema_and_our_application_id(tmp_path: Path) -> None:
    db = HistoryDB(tmp_path / "h.sqlite3")
    db.close()
    conn = sqlite3.connect(tmp_path / "h.sqlite3")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    finally:
        conn.close()


def test_samples_fold_into_buckets_and_downsample_by_step(tmp_path: Path) -> None:
    db = HistoryDB(tmp_path / "h.sqlite3")
    try:
        for second in range(0, 180, 20):  # nine rounds over three one-minute buckets
            up = 0 if second >= 120 else 1
            db.record([sample("a", NOW + second, up=up, queue=float(second))], [])
        db.record([sample("a", NOW + 170, ok=0, up=0, queue=None)], [])
        by_minute = db.series("a", NOW, NOW + 180, 60)
        assert [(r.t, r.polls, r.ok, r.up, r.queue_n, r.queue_max) for r in by_minute] == [
            (NOW, 3, 3, 3, 3, 40.0),
            (NOW + 60, 3, 3, 3, 3, 100.0),
            (NOW + 120, 4, 3, 0, 3, 160.0),
        ]
        assert by_minute[0].queue_sum == 0 + 20 + 40
        (whole,) = db.series(None, NOW, NOW + 180, 180)
        assert (whole.polls, whole.ok, whole.up, whole.queue_max) == (10, 9, 6, 160.0)
        assert db.series("b", NOW, NOW + 180, 60) == []
    finally:
        db.close()


def test_events_newest_kept_oldest_first(tmp_path: Path) -> None:
    db = HistoryDB(tmp_path / "h.sqlite3")
    try:
        db.record([], [event("a", NOW + i) for i in range(5)] + [event("b", NOW + 2.5)])
        rows = db.events("a", NOW, NOW + 10, limit=3)
        assert [r[0] for r in rows] == [NOW + 2, NOW + 3, NOW + 4]
        assert len(db.events(None, NOW, NOW + 10, limit=100)) == 6
        assert db.events(None, NOW + 10, NOW + 20, limit=100) == []
    finally:
        db.close()


async def test_retention_prunes_old_rows_and_keeps_recent_ones(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3", retention=86400)
    await history.open()
    try:
        old, recent = NOW - 2 * 86400, NOW - 3600
        history.submit([sample("a", old), sample("a", recent)], [event("a", old)])
        history.submit([], [event("a", recent)])
        await history.flush()
        assert await history.prune(now=NOW) == 2  # one sample bucket, one event
        assert [r.t for r in await history.series("a", old - 60, NOW, 60)] == [recent]
        assert [r[0] for r in await history.events("a", old - 60, NOW, 10)] == [recent]
        assert await history.prune(now=NOW) == 0
    finally:
        await history.close()


async def test_history_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    first = History(path, retention=86400)
    await first.open()
    first.submit([sample("a", NOW)], [event("a", NOW)])
    await first.close()
    again = History(path, retention=86400)
    await again.open()
    try:
        assert len(await again.series("a", NOW - 60, NOW + 60, 60)) == 1
        assert len(await again.events("a", NOW - 60, NOW + 60, 10)) == 1
    finally:
        await again.close()


def test_migrations_run_in_order_once_each_and_keep_data(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "h.sqlite3", isolation_level=None)
    try:
        assert migrate(conn, MIGRATIONS) == 1
        conn.execute(
            "INSERT INTO events (ts, backend, kind, fields, detail)"
            " VALUES (1, 'a', 'seen', '[]', '{}')"
        )
        v2 = ("ALTER TABLE events ADD COLUMN note TEXT", "UPDATE events SET note = 'migrated'")
        assert migrate(conn, (*MIGRATIONS, v2)) == 2
        assert conn.execute("SELECT backend, note FROM events").fetchall() == [("a", "migrated")]
        assert migrate(conn, (*MIGRATIONS, v2)) == 2  # nothing left to run
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
        with pytest.raises(HistoryError, match="newer than this ionq-backends knows"):
            migrate(conn, MIGRATIONS)
    finally:
        conn.close()


def test_a_failed_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "h.sqlite3", isolation_level=None)
    try:
        migrate(conn, MIGRATIONS)
        broken = ("ALTER TABLE events ADD COLUMN note TEXT", "THIS IS NOT SQL")
        with pytest.raises(sqlite3.OperationalError):
            migrate(conn, (*MIGRATIONS, broken))
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        columns = [row[1] for row in conn.execute("PRAGMA table_info(events)")]
        assert "note" not in columns  # rolled back with the version
    finally:
        conn.close()


def test_a_file_that_is_not_our_history_is_refused_untouched(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE accounts (id INTEGER)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    with pytest.raises(HistoryError, match="not an ionq-backends history"):
        HistoryDB(other)
    assert other.read_bytes() == before  # byte for byte: not even switched to WAL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.sqlite3"]  # no -wal, no -shm
    text = tmp_path / "notes.txt"
    text.write_text("not a database, but somebody's notes\n" * 100)
    with pytest.raises(HistoryError, match=r"notes\.txt"):
        HistoryDB(text)
    assert text.read_text().startswith("not a database")


async def test_writes_never_block_polling_and_a_backlog_is_dropped_and_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ionq_emulator: Emulator
) -> None:
    release = threading.Event()
    real_record = HistoryDB.record

    def stuck(self: HistoryDB, *args: Any) -> None:
        release.wait(30)  # a disk that stalls
        real_record(self, *args)

    monkeypatch.setattr(HistoryDB, "record", stuck)
    monkeypatch.setattr(store, "MAX_PENDING_WRITES", 3)
    app = create_app(base_url=ionq_emulator.base_url, db_path=tmp_path / "h.sqlite3",
                     interval=0.01, names=["qpu.aria-1"])  # fmt: skip
    monitor = app[MONITOR]
    try:
        async with running(app) as url:
            await monitor.wait_rounds(10)  # polling goes on while the writer is stuck
            async with aiohttp.ClientSession() as http, http.get(url + "metrics") as response:
                text = await response.text()
            assert 'ionq_history_write_errors_total{reason="backlog"}' in text
            release.set()  # before the app stops: closing waits for the queued writes
    finally:
        release.set()


def _polls(path: Path) -> int:
    if not path.exists():
        return 0
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute("SELECT coalesce(sum(polls), 0) FROM samples").fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0
    finally:
        conn.close()


def test_kill_9_mid_write_loses_at_most_the_last_round(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    command = [sys.executable, "-m", "ionq_backends.service", "--emulator", "--db", str(path),
               "--interval", "0.01", "--port", "0", "--log-level", "error"]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=CLEAN_ENV)  # fmt: skip
    try:
        assert proc.stdout is not None
        line = read_line(proc.stdout)
        assert line.startswith("ionq-backends serve: http://127.0.0.1:"), line
        # Rounds commit back to back (one every 10 ms): the kill lands while the writer works.
        deadline = time.monotonic() + 60
        while (before := _polls(path)) < 9 * 50 and time.monotonic() < deadline:
            time.sleep(0.05)  # across processes there is nothing to await
        assert before >= 9 * 50, "the child wrote fewer than 50 rounds in 60 s"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    db = HistoryDB(path)  # reopens, recovers the WAL, migrates nothing
    try:
        assert db._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        counts = db.counts()
        assert counts["polls"] >= before  # every round seen committed before the kill is there
        assert counts["events"] >= 9  # the first round's "seen" events
    finally:
        db.close()


def test_a_name_utf8_cannot_carry_is_stored_and_found_escaped(tmp_path: Path) -> None:
    db = HistoryDB(tmp_path / "h.sqlite3")
    try:
        db.record([sample("qpu.\ud800", NOW)], [event("qpu.\ud800", NOW)])
        (row,) = db.series("qpu.\ud800", NOW - 60, NOW + 60, 60)
        assert row.backend == "qpu.\\ud800"
        (found,) = db.events("qpu.\ud800", NOW - 60, NOW + 60, 10)
        assert found[1] == "qpu.\\ud800"
    finally:
        db.close()


def test_a_full_disk_is_named_not_hidden_by_a_failed_rollback(tmp_path: Path) -> None:
    db = HistoryDB(tmp_path / "h.sqlite3")
    try:
        pages = db._conn.execute("PRAGMA page_count").fetchone()[0]
        db._conn.execute(f"PRAGMA max_page_count = {pages + 1}")  # as a disk that is full
        rows = [sample(f"qpu.{i:04d}-{'x' * 200}", NOW) for i in range(500)]
        with pytest.raises(HistoryError, match=r"h\.sqlite3: database or disk is full$"):
            db.record(rows, [])
        assert not db._conn.in_transaction
        assert db.series(None, NOW - 60, NOW + 60, 60) == []  # nothing half-written
    finally:
        db.close()


def test_a_malformed_file_is_one_line_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    db = HistoryDB(path)
    db.record([sample(f"qpu.{i}", NOW) for i in range(2000)], [])
    db._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(path.read_bytes())
    data[4096 * 2 : 4096 * 6] = b"\xff" * (4096 * 4)  # pages of the tables, overwritten
    path.write_bytes(bytes(data))
    with pytest.raises(HistoryError, match=r"^.*h\.sqlite3: .*malformed") as caught:
        HistoryDB(path).prune(NOW)  # the start-up prune, which raised a raw DatabaseError
    assert "\n" not in str(caught.value)


def test_a_lock_held_elsewhere_is_said_at_once_then_waited_for(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "h.sqlite3"
    HistoryDB(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's write lock
    said = threading.Event()

    class Tell(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            said_it = f"history: {path} is locked by another process; waiting up to 30 s for it"
            if record.getMessage() == said_it:
                said.set()

    def write() -> None:  # a HistoryDB belongs to the thread that made it
        db = HistoryDB(path)
        try:
            db.record([sample("qpu.a", NOW)], [])
        finally:
            db.close()

    tell = Tell()
    logging.getLogger("ionq_backends.service").addHandler(tell)
    try:
        writer = threading.Thread(target=write)
        writer.start()
        assert said.wait(10)  # at once, while the lock is still held
        assert writer.is_alive()  # and it waits
        holder.execute("COMMIT")
        writer.join(10)
        assert not writer.is_alive()
    finally:
        logging.getLogger("ionq_backends.service").removeHandler(tell)
        holder.close()
    db = HistoryDB(path, readonly=True)
    try:
        assert [row.backend for row in db.series(None, NOW - 60, NOW + 60, 60)] == ["qpu.a"]
    finally:
        db.close()


def _history_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("ionq-history-")]


@pytest.mark.parametrize(("version", "tables"), [(3, False), (0, True)])
def test_a_file_with_anothers_version_or_tables_is_refused_by_its_reason(
    tmp_path: Path, version: int, tables: bool
) -> None:
    other = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(other)
    conn.execute(f"PRAGMA user_version = {version}")  # another program's own numbering
    if tables:
        conn.execute("CREATE TABLE accounts (id INTEGER)")
    conn.commit()
    conn.close()
    reason = "it holds other tables" if tables else "application_id differs"
    with pytest.raises(HistoryError) as raised:
        HistoryDB(other)
    assert str(raised.value) == f"{other}: not an ionq-backends history database ({reason})"


def test_a_reader_of_a_file_never_migrated_names_both_schemas(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    sqlite3.connect(path).close()
    with pytest.raises(HistoryError) as raised:
        HistoryDB(path, readonly=True)
    assert str(raised.value) == f"{path}: schema 0, expected {SCHEMA_VERSION}"


def test_series_start_at_the_step_that_holds_since(tmp_path: Path) -> None:
    db = HistoryDB(tmp_path / "h.sqlite3")
    try:
        db.record([sample("qpu.a", NOW - 120), sample("qpu.a", NOW), sample("qpu.a", NOW + 60)], [])
        # `since` mid-step: the step it falls in is whole, not cut at `since`; the one before
        # it is not asked for.
        rows = db.series(None, NOW + 30, NOW + 120, 120)
    finally:
        db.close()
    assert [(row.t, row.polls) for row in rows] == [(NOW, 2)]


async def test_reads_through_the_history_keep_to_the_backend_asked_for(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3", retention=86400)
    await history.open()
    try:
        history.submit([sample("qpu.a", NOW), sample("qpu.b", NOW)],
                       [event("qpu.a", NOW), event("qpu.b", NOW)])  # fmt: skip
        await history.flush()
        series = await history.series("qpu.b", NOW - 60, NOW + 60, 60)
        events = await history.events("qpu.b", NOW - 60, NOW + 60, 10)
        # Many readers at once share the reader's one thread: its connection belongs to it.
        reads = [history.series(None, NOW - 60, NOW + 60, 60) for _ in range(8)]
        assert {len(rows) for rows in await asyncio.gather(*reads)} == {2}
    finally:
        await history.close()
    assert [row.backend for row in series] == ["qpu.b"]
    assert [row[1] for row in events] == ["qpu.b"]


async def test_a_backlog_drops_the_round_past_the_limit_not_at_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()
    real_record = HistoryDB.record

    def stuck(self: HistoryDB, *args: Any) -> None:
        release.wait(30)
        real_record(self, *args)

    monkeypatch.setattr(HistoryDB, "record", stuck)
    monkeypatch.setattr(store, "MAX_PENDING_WRITES", 3)
    reasons: list[str] = []
    history = History(tmp_path / "h.sqlite3", retention=86400, on_write_error=reasons.append)
    await history.open()
    try:
        for minute in range(3):  # the limit: all three queued
            history.submit([sample("qpu.a", NOW + 60 * minute)], [])
        assert reasons == []
        with caplog.at_level(logging.ERROR, logger="ionq_backends.service"):
            history.submit([sample("qpu.a", NOW + 180)], [])  # one past it: dropped, counted
        assert reasons == ["backlog"]
        assert "history: 3 writes pending; dropping this round" in caplog.messages
    finally:
        release.set()
        await history.close()
    db = HistoryDB(tmp_path / "h.sqlite3", readonly=True)
    try:
        assert db.counts()["polls"] == 3  # the queued rounds were written, the dropped one not
    finally:
        db.close()


async def test_written_rounds_leave_the_backlog_so_it_never_fills_by_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "MAX_PENDING_WRITES", 2)
    reasons: list[str] = []
    history = History(tmp_path / "h.sqlite3", retention=86400, on_write_error=reasons.append)
    await history.open()
    try:
        for minute in range(5):  # more rounds than the backlog holds, each written in turn
            history.submit([sample("qpu.a", NOW + 60 * minute)], [])
            await history.flush()
    finally:
        await history.close()
    assert reasons == []


def test_a_file_where_sqlite_refuses_wal_is_named_with_the_mode_it_got() -> None:
    with pytest.raises(HistoryError) as raised:
        HistoryDB(":memory:")  # SQLite keeps an in-memory database in "memory" mode
    assert str(raised.value) == ":memory:: SQLite refused WAL mode (memory)"


async def test_a_failed_write_is_counted_by_its_cause_logged_and_never_raised_by_flush(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def full(self: HistoryDB, *args: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(HistoryDB, "_record", full)
    reasons: list[str] = []
    history = History(tmp_path / "h.sqlite3", retention=86400, on_write_error=reasons.append)
    await history.open()
    try:
        with caplog.at_level(logging.ERROR, logger="ionq_backends.service"):
            history.submit([sample("qpu.a", NOW)], [])
            await history.flush()  # the failure is the callback's to report, not flush's
        history.submit([sample("qpu.a", NOW + 60)], [])
        await history.flush()
    finally:
        await history.close()
    assert reasons == ["OperationalError", "OperationalError"]  # the cause, not HistoryError
    path = tmp_path / "h.sqlite3"
    assert f"history: a round was not written: {path}: database or disk is full" in caplog.messages


async def test_closing_the_history_ends_its_threads_and_later_writes_do_nothing(
    tmp_path: Path,
) -> None:
    reasons: list[str] = []
    history = History(tmp_path / "h.sqlite3", retention=60, on_write_error=reasons.append)
    assert await history.prune(NOW) == 0  # not open yet: nothing to prune
    await history.open()
    # One thread each: the writer's, which owns the writing connection, and the reader's.
    assert sorted(_history_threads()) == ["ionq-history-reader_0", "ionq-history-writer_0"]
    history.submit([sample("qpu.a", NOW)], [])
    await history.flush()
    await history.close()
    assert _history_threads() == []  # shut down and joined, not left to linger
    history.submit([sample("qpu.a", NOW + 60)], [])  # after close: dropped, not an error
    assert await history.prune(NOW + 3600) == 0
    await history.close()  # twice is fine
    assert reasons == []
    db = HistoryDB(tmp_path / "h.sqlite3", readonly=True)
    try:
        assert db.counts() == {"samples": 1, "polls": 1, "events": 0}
    finally:
        db.close()
