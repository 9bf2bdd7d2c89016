"""SQLite's write-ahead log outlives a request's connection (cozy/core/sqlite_wal.py).

Without the keeper, closing the last connection checkpoints the log and deletes it, which
every request did (they each open and close their own connection).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

pytestmark = [
    pytest.mark.sqlite,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's log only (scripts/test's SQLite stage)"),
]


def test_closing_a_request_connection_leaves_the_log_in_place():
    get_user_model().objects.create_user("walter")  # a committed write: the log has frames
    log = Path(f"{connection.settings_dict['NAME']}-wal")
    connection.close()  # as at the end of every request
    assert log.exists() and log.stat().st_size > 0
    connection.connect()
    assert get_user_model().objects.filter(username="walter").exists()  # read back
    connection.close()
    assert log.exists()


def test_every_commit_is_synced_by_default():
    """synchronous=FULL: an upload answered 201 is on disk; NORMAL is the operator's opt-in."""
    connection.ensure_connection()
    with connection.cursor() as cursor:
        assert cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert cursor.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
