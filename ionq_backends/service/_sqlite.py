"""How the history talks to SQLite (stdlib sqlite3): each lock waited for out loud, each
rollback that hides nothing, each error named with its file, and text as UTF-8 can carry it."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .._humanize import encodable
from .._logging import package_logger
from ._constants import HISTORY_LOCK_WAIT, LOGGER_NAME

__all__ = ["HistoryError", "begin", "connect", "key", "locked", "named", "rollback", "text_row"]

logger = package_logger(LOGGER_NAME)


class HistoryError(Exception):
    """The history database cannot be used (wrong file, newer schema, unreadable)."""


def connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    # Autocommit mode: every transaction here is explicit (BEGIN IMMEDIATE ... COMMIT). No busy
    # wait of SQLite's own: `locked` says that it waits before it does.
    return sqlite3.connect(os.fspath(path), isolation_level=None, timeout=0.0)


def locked(conn: sqlite3.Connection, statement: str, params: Any = ()) -> sqlite3.Cursor:
    """`statement`; if another process holds the lock, say so at once, then wait for it."""
    try:
        return conn.execute(statement, params)
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):  # SQLITE_BUSY and SQLITE_LOCKED both say "locked"
            raise
    path = conn.execute("PRAGMA database_list").fetchone()[2]
    logger.warning("history: %s is locked by another process; waiting up to %g s for it",
                   path, HISTORY_LOCK_WAIT)  # fmt: skip
    conn.execute(f"PRAGMA busy_timeout = {int(HISTORY_LOCK_WAIT * 1000)}")
    try:
        return conn.execute(statement, params)
    finally:
        conn.execute("PRAGMA busy_timeout = 0")


def begin(conn: sqlite3.Connection) -> None:
    locked(conn, "BEGIN IMMEDIATE")


# Text in, as SQLite can store it: a name or status from the API may hold a lone surrogate, which
# UTF-8 cannot carry. It is stored, and looked up, escaped (`encodable`).


def text_row(row: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(encodable(v) if isinstance(v, str) else v for v in row)


def key(backend: str | None) -> str | None:
    return None if backend is None else encodable(backend)


def rollback(conn: sqlite3.Connection) -> None:
    """Undo the open transaction, if SQLite has not already: a failed ROLLBACK ("no transaction
    is active") must not hide the error that caused it (a full disk ends the transaction)."""
    if conn.in_transaction:
        conn.rollback()


@contextlib.contextmanager
def named(path: Path) -> Iterator[None]:
    """Any SQLite error, or `HistoryError`, as a `HistoryError` naming the file: one line,
    never a traceback."""
    try:
        yield
    except HistoryError as exc:
        raise HistoryError(f"{path}: {exc}") from None
    except sqlite3.Error as exc:
        raise HistoryError(f"{path}: {exc}") from exc
