"""Open SQLite connections that no request is using, kept for the next request.

Requests each open and close their own database connection (``CONN_MAX_AGE = 0``: the
gevent web server serves each client in a greenlet, and a connection kept per greenlet
would be one per idle keep-alive client). Opening one costs its PRAGMAs and function
registrations, about 6 % of a 1 KiB upload's CPU (docs/benchmarks.md, "Files API"). So a
request's close hands a connection that holds no transaction to this process-wide list,
and the next request's connect takes it back: one greenlet at a time uses a connection,
as before, and none is handed over mid-transaction, with a cursor open (base.py closes
them) or from another process (a fork's child puts its parent's aside).
"""

from __future__ import annotations

import os
import sqlite3
import threading

_idle: dict[tuple[str, str], list[sqlite3.Connection]] = {}
_inherited: list[sqlite3.Connection] = []  # a parent's, after a fork: never used, never closed
_lock = threading.Lock()


def take(key: tuple[str, str]) -> sqlite3.Connection | None:
    """An idle connection for ``key`` (alias, database file), or None."""
    with _lock:
        free = _idle.get(key)
        return free.pop() if free else None


def give(key: tuple[str, str], conn: sqlite3.Connection, keep: int) -> bool:
    """Keep ``conn`` for the next request, unless ``keep`` are idle already."""
    with _lock:
        free = _idle.setdefault(key, [])
        if len(free) >= keep:
            return False
        free.append(conn)
        return True


def inherited(conn: sqlite3.Connection) -> None:
    """Put aside a connection opened by a parent process: using or closing it in a child
    could act on locks and a log the parent holds."""
    _inherited.append(conn)  # no lock: a fork may have left it held


def drop_all() -> None:
    """Close every idle connection (tests, and a database file replaced under the process)."""
    with _lock:
        conns = [c for free in _idle.values() for c in free]
        _idle.clear()
    for conn in conns:
        conn.close()


def _after_fork_in_child() -> None:
    # SQLite's locks are per process: a child must not use its parent's connections.
    _inherited.extend(c for free in _idle.values() for c in free)
    _idle.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)
