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

import time

from django.db import OperationalError
from django.db.backends.sqlite3 import base

FIRST_PAUSE, LONGEST_PAUSE = 0.0005, 0.01  # seconds between attempts, doubling


class DatabaseWrapper(base.DatabaseWrapper):
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
