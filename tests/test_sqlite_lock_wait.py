"""Under gevent, a transaction that waits for SQLite's write lock lets the process's other
greenlets run (cozy/core/sqlite3/base.py): SQLite's own wait sleeps in C and stopped them all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.sqlite,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write lock only (scripts/test's SQLite stage)"),
]

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
from gevent import monkey; monkey.patch_all()
import os, sqlite3, time, django, gevent
django.setup()
from django.db import connection, transaction

holder = sqlite3.connect(os.environ["DB"], isolation_level=None)
holder.execute("PRAGMA journal_mode=WAL")
holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
holder.execute("BEGIN IMMEDIATE")  # another process's writer, as it were: the lock is taken
ticks, got_in = [], []

def writer():
    with transaction.atomic():
        connection.cursor().execute("INSERT INTO t VALUES (1)")
        got_in.append(time.monotonic())

def ticker():
    while not got_in:
        ticks.append(1)
        gevent.sleep(0.01)

def release():
    gevent.sleep(0.5)
    holder.execute("COMMIT")

gevent.joinall([gevent.spawn(writer), gevent.spawn(ticker), gevent.spawn(release)], timeout=20)
print(len(ticks), len(got_in), holder.execute("SELECT count(*) FROM t").fetchone()[0])
"""


def test_waiting_for_the_write_lock_does_not_stop_the_other_greenlets(tmp_path):
    db = tmp_path / "lock.sqlite3"
    env = {"DB": str(db), "DATABASE_URL": f"sqlite:///{db}", "DJANGO_SETTINGS_MODULE": "cozy.settings",
           "SECRET_KEY": "lock-test", "COZY_VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    ticks, got_in, rows = map(int, done.stdout.split())
    assert (got_in, rows) == (1, 1)  # the writer got the lock once it was released, and wrote
    assert ticks >= 20, ticks  # about 50 in the half second the lock was held; none with SQLite's C wait
