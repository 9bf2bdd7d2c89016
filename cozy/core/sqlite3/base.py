"""Django's SQLite backend whose write transactions wait for the lock cooperatively.

SQLite lets one writer in at a time; ``BEGIN IMMEDIATE`` waits for the lock in
SQLite's busy handler, which sleeps in C. Under the gevent web server that
sleep stops every greenlet of the worker process, so while one upload held the
lock, the others of the same process could not even read their request or
talk to the store: 8 clients got fewer uploads a second than one
(docs/benchmarks.md, "Files API"). Here the ``BEGIN IMMEDIATE`` of a
transaction asks for the lock without SQLite's wait, and retries after short
sleeps through ``time.sleep``, which gevent makes a yield to the other
greenlets. The deadline is the connection's lock timeout, as before; other
statements keep SQLite's own wait.
"""

from __future__ import annotations

import os
import sqlite3
import time
import weakref
from typing import Any

from django.conf import settings
from django.db import OperationalError
from django.db.backends.sqlite3 import base

from cozy.core.sqlite3 import idle

FIRST_PAUSE, LONGEST_PAUSE = 0.0005, 0.01  # seconds between attempts, doubling


class DatabaseWrapper(base.DatabaseWrapper):
    def _idle_key(self) -> tuple[str, str]:
        return self.alias, str(self.settings_dict["NAME"])

    def get_new_connection(self, conn_params: dict[str, Any]) -> sqlite3.Connection:
        """An idle connection of this process to the same file (see idle.py), or a new one."""
        conn = None if self.is_in_memory_db() else idle.take(self._idle_key())
        self._connected_in = os.getpid()  # a fork's child inherits this wrapper with its connection
        self._cursors: weakref.WeakSet[Any] = weakref.WeakSet()
        return conn if conn is not None else super().get_new_connection(conn_params)

    def create_cursor(self, name: str | None = None) -> Any:
        cursor = super().create_cursor(name)
        self._cursors.add(cursor)  # closed before the connection is kept: see _close
        return cursor

    def _close(self) -> None:
        conn = self.connection
        if conn is not None and getattr(self, "_connected_in", None) != os.getpid():
            idle.inherited(conn)  # a parent's (Celery's prefork children close theirs): never kept, never closed
            return
        if conn is not None and self._reusable(conn):
            # A query left half read (an iterator kept alive by a traceback) holds a read open:
            # the next request would see this one's snapshot, and its writes could not begin.
            for cursor in list(self._cursors):
                cursor.close()
            if idle.give(self._idle_key(), conn, settings.COZY_SQLITE_IDLE_CONNECTIONS):
                return
        super()._close()  # type: ignore[misc]  # not in the stubs

    def _reusable(self, conn: sqlite3.Connection) -> bool:
        """Only a connection left clean: no transaction open, no error seen, not in an atomic block."""
        return not (self.in_atomic_block or self.errors_occurred or conn.in_transaction or self.is_in_memory_db())

    def _start_transaction_under_autocommit(self) -> None:
        if self.transaction_mode != "IMMEDIATE":  # type: ignore[attr-defined]  # Django 5.1+, not in the stubs
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # as above
            return
        conn = self.connection
        timeout_ms = conn.execute("PRAGMA busy_timeout").fetchone()[0]
        deadline, pause = time.monotonic() + timeout_ms / 1000, FIRST_PAUSE
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    self.cursor().execute("BEGIN IMMEDIATE")
                    return
                except OperationalError as err:
                    if "locked" not in str(err) or time.monotonic() >= deadline:
                        raise
                time.sleep(pause)  # gevent: the other greenlets run meanwhile
                pause = min(LONGEST_PAUSE, pause * 2)
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout_ms)}")
