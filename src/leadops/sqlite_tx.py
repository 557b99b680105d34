"""Read and write transactions on the small SQLite files leadops keeps beside a workspace (keys, intake spool).

One place for what every such store needs: a process-local lock around the shared connection, IMMEDIATE write
transactions (the writer lock taken up front, so two workers never deadlock on an upgrade), a ROLLBACK that
cannot hide the error that caused it, and SQLite errors turned into the store's own error by `fail`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

Fail = Callable[[sqlite3.Error, str], Exception]
"""The store's error for a SQLite failure while it did `what` ('read' or 'write')."""


@contextmanager
def reading(
    lock: threading.Lock, connect: Callable[[], sqlite3.Connection], fail: Fail
) -> Iterator[sqlite3.Connection]:
    """The connection for reads, under the store's lock."""
    with lock:
        try:
            yield connect()
        except sqlite3.Error as exc:
            raise fail(exc, "read") from exc


@contextmanager
def writing(
    lock: threading.Lock, connect: Callable[[], sqlite3.Connection], fail: Fail
) -> Iterator[sqlite3.Connection]:
    """One IMMEDIATE transaction: committed when the block ends, rolled back (quietly) when it raises."""
    with lock:
        try:
            conn = connect()
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise fail(exc, "write") from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            with suppress(sqlite3.Error):  # a failed COMMIT may have ended the transaction already
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise fail(exc, "write") from exc
            raise
