"""Connections to one SQLite file, shared safely by threads and processes.

A sqlite3 connection must not be used by two threads at once, and Starlette
runs sync endpoints in a threadpool, so connections live in a small pool and
each transaction borrows one for its whole length. Writers from every thread
and process queue on SQLite's busy timeout: writes start with BEGIN IMMEDIATE,
which takes the write lock up front, so a transaction never has to upgrade a
read lock halfway (in WAL mode that upgrade fails at once, busy timeout or not).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tim.domain.model.errors import StorageUnavailable

BUSY_TIMEOUT_SECONDS = 30.0
# As many as the threads that may read at once (Starlette's threadpool has
# 40): a connection opened anew parses the schema and starts with an empty
# cache, which costs more than the read it was opened for.
IDLE_CONNECTIONS_KEPT = 40
# Reads go through a memory map of the file: every connection shares the
# operating system's cache of it, instead of copying pages into its own.
MMAP_BYTES = 1 << 30

# Primary result codes that mean the file cannot be reached or used right now.
# Anything else (SQLITE_ERROR for a bad statement, SQLITE_CONSTRAINT...) is a
# bug or a conflict, not an outage, and keeps its own exception.
_UNAVAILABLE = frozenset(
    {
        sqlite3.SQLITE_INTERRUPT,
        sqlite3.SQLITE_PERM,
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
        sqlite3.SQLITE_NOLFS,
        sqlite3.SQLITE_AUTH,
        sqlite3.SQLITE_NOTADB,
    }
)


def is_unavailable(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _UNAVAILABLE


@contextmanager
def translated_errors(path: Path) -> Iterator[None]:
    """Report a database that cannot be reached or used as StorageUnavailable."""
    try:
        yield
    except sqlite3.Error as error:
        if is_unavailable(error):
            raise StorageUnavailable(f"the SQLite database {str(path)!r} is unavailable: {error}") from error
        raise


def connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: the driver opens no transactions of its own, so
    # the BEGIN/COMMIT below are the only ones. `timeout` is the busy timeout.
    connection = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
    )
    try:
        connection.execute("PRAGMA foreign_keys = ON")
        # PRAGMA takes no parameters; MMAP_BYTES is a constant of this module.
        connection.execute(f"PRAGMA mmap_size = {MMAP_BYTES}").fetchall()
    except BaseException:
        connection.close()
        raise
    return connection


def use_wal(connection: sqlite3.Connection) -> None:
    """Put the file in WAL mode (kept in the file), so readers go on while one
    writer writes. Switching needs the file to itself for a moment, and SQLite
    reports a clash at once rather than through the busy timeout, so that
    clash (processes opening a new file together) is retried here."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    pause = 0.005
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL").fetchall()
            return
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


class ConnectionPool:
    """Connections to one file; each is used by one thread at a time."""

    def __init__(self, path: Path):
        self.path = path
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._pid = os.getpid()
        self._parents: list[sqlite3.Connection] = []
        self._in_use: dict[int, sqlite3.Connection] = {}  # by the thread using it

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """One transaction on a borrowed connection: committed if the block
        succeeds, rolled back if it raises."""
        with translated_errors(self.path):
            connection = self._borrow()
            reusable = False
            self._in_use[threading.get_ident()] = connection
            try:
                connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield connection
                except BaseException:
                    connection.execute("ROLLBACK")
                    reusable = True
                    raise
                connection.execute("COMMIT")
                reusable = True
            finally:
                self._in_use.pop(threading.get_ident(), None)
                # A connection that failed mid-transaction is closed, not
                # pooled: closing rolls back whatever is left of it.
                self._give_back(connection, reusable and not connection.in_transaction)

    def interrupt(self, thread_id: int) -> None:
        """Abort the statement the thread runs (sqlite3 allows it from any thread)."""
        connection = self._in_use.get(thread_id)
        if connection is not None:
            connection.interrupt()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._own_idle(), []
        for connection in idle:
            connection.close()

    def _borrow(self) -> sqlite3.Connection:
        with self._lock:
            if self._closed:
                raise StorageUnavailable(f"the SQLite database {str(self.path)!r} is closed")
            if self._own_idle():
                return self._idle.pop()
        return connect(self.path)

    def _own_idle(self) -> list[sqlite3.Connection]:
        """The idle connections this process opened (caller holds the lock)."""
        if self._pid != os.getpid():
            # A forked child must neither use its parent's connections nor
            # close them (closing may checkpoint the parent's WAL): they are
            # kept here, untouched, for the life of the child.
            self._parents, self._idle, self._pid = self._idle, [], os.getpid()
        return self._idle

    def _give_back(self, connection: sqlite3.Connection, reusable: bool) -> None:
        with self._lock:
            if reusable and not self._closed and len(self._idle) < IDLE_CONNECTIONS_KEPT:
                self._idle.append(connection)
                return
        connection.close()
