"""A request's SQLite connection is kept open for the next request (cozy/core/sqlite3/idle.py),
only when it holds nothing: no transaction, no error."""

from __future__ import annotations

import os
import sqlite3
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import override_settings

from cozy.core.sqlite3 import idle

pytestmark = [
    pytest.mark.sqlite,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's connections only (scripts/test's SQLite stage)"),
]


def _raw():
    connection.ensure_connection()
    return connection.connection


def test_the_next_request_takes_the_connection_the_last_one_closed():
    first = _raw()
    connection.close()  # as at the end of every request
    assert _raw() is first
    get_user_model().objects.create_user("ida")  # it works: a write, committed
    connection.close()
    assert get_user_model().objects.filter(username="ida").exists()


@override_settings(COZY_SQLITE_IDLE_CONNECTIONS=0)
def test_none_is_kept_when_the_setting_is_zero():
    first = _raw()
    connection.close()
    assert _raw() is not first


def test_a_connection_closed_inside_a_transaction_is_not_kept():
    first = _raw()
    with pytest.raises(RuntimeError), transaction.atomic():
        get_user_model().objects.create_user("jack")
        connection.close()  # closed mid-transaction: the atomic block ends in a rollback
        raise RuntimeError
    assert _raw() is not first
    assert not get_user_model().objects.filter(username="jack").exists()


def test_connections_in_use_at_once_are_never_the_same_one():
    """Each thread (each greenlet, under gevent) has its own; one closed goes to the next."""
    connection.close()
    idle.drop_all()  # this thread's own closed for good: only the two threads' are left
    both_in, seen, errors = threading.Barrier(2, timeout=5), [], []

    def work() -> None:
        try:
            seen.append(_raw())
            both_in.wait()  # both connected at the same time
            connection.close()
        except Exception as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors and len(seen) == 2 and seen[0] is not seen[1]
    assert _raw() in seen  # then kept for whoever connects next


def test_a_child_process_never_keeps_its_parents_connection():
    """A connection open at a fork (Celery's prefork pool closes its inherited ones at start)
    must not serve the child's next query: SQLite's locks are per process."""
    first = _raw()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running the parent's cleanups
        try:
            connection.close()
            os.write(write, b"same" if _raw() is first else b"own")
        finally:
            os._exit(0)
    os.close(write)
    try:
        answer = os.read(read, 16)
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    assert answer == b"own"
    assert _raw() is first  # the parent's own goes on


def test_a_query_left_unfinished_holds_no_snapshot_for_the_next_request():
    """A row iterator dropped half read (an error mid-listing, its frame kept by the
    traceback) must not keep a read open on the connection the next request takes."""
    users = get_user_model().objects
    for name in ("a", "b", "c"):
        users.create_user(name)
    rows = users.order_by("pk").values_list("username", flat=True).iterator(chunk_size=1)
    assert next(rows) == "a"
    connection.close()  # the request ends, its iterator still referenced
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=5)  # another process's commit
    with other:
        other.execute("UPDATE auth_user SET first_name = 'seen' WHERE username = 'b'")
    other.close()
    assert users.get(username="b").first_name == "seen", "a stale read: the previous request's snapshot"
    users.create_user("next")  # and a write goes through
    assert users.filter(username="next").exists()
    del rows
