"""SQLite in WAL mode: one idle connection per process keeps the write-ahead log open.

When the last connection to a WAL database closes, SQLite checkpoints the log into
the database file and deletes it, with its fsyncs. Requests open and close their own
connection (``CONN_MAX_AGE = 0``: the gevent web server serves each client in a
greenlet of its own), so without this every request, and every upload twice (it hands
its connection back while the body streams), paid for a checkpoint: about half the time
of a 1 KiB upload (docs/benchmarks.md, "Files API"). With one connection per database
file that stays open, a request's close is only a close, and SQLite checkpoints on its
own every 1,000 pages of log, as by default. Nothing else changes: each commit is still
written to the log and synced before it returns.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

_keepers: dict[str, sqlite3.Connection] = {}
_inherited: list[sqlite3.Connection] = []  # a parent's, after a fork: never used, never closed
_lock = threading.Lock()


def keep_log_open(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """A ``connection_created`` receiver: the first connection to a SQLite file in this
    process opens the keeper of that file."""
    if connection.vendor != "sqlite" or connection.is_in_memory_db():  # type: ignore[attr-defined]
        return
    name = str(connection.settings_dict["NAME"])
    with _lock:
        if name in _keepers:
            return
        keeper = sqlite3.connect(name, check_same_thread=False)
        keeper.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # maps the log's index: holds it
        _keepers[name] = keeper


def _after_fork_in_child() -> None:
    # A connection must not be used across a fork (SQLite's locks are per process): the
    # child opens its own keepers, and keeps its parent's objects so that no close runs.
    _inherited.extend(_keepers.values())
    _keepers.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)
