"""A real Celery worker process for tests, on the real broker and the test database."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from cozy.celery import app as celery_app


def test_database_url() -> str:
    """The URL of the database the tests run on (the test database, not the configured one)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    if db["ENGINE"].endswith("postgresql"):
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    raise RuntimeError(f"no worker URL for database engine {db['ENGINE']}")


class Worker:
    """``celery -A cozy worker`` as a child process, on a queue of its own."""

    def __init__(self, fs_url: str, queue: str, log_path: Path, extra_env: dict[str, str] | None = None):
        self.fs_url, self.queue, self.log_path = fs_url, queue, log_path
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="tests.settings",
            DATABASE_URL=test_database_url(),
            COZY_FS_URL=self.fs_url,
            COZY_CELERY_QUEUE=self.queue,
            COZY_CELERY_VISIBILITY_TIMEOUT="5",
            **self.extra_env,
        )
        return env

    def start(self, timeout: float = 60) -> Worker:
        cmd = [sys.executable, "-m", "celery", "-A", "cozy", "worker", "-Q", self.queue, "--pool", "solo",
               "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO",
               "-n", f"{self.queue}@%h"]  # fmt: skip
        log = open(self.log_path, "ab")
        start_offset = self.log_path.stat().st_size
        self.proc = subprocess.Popen(cmd, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True, cwd=Path(__file__).resolve().parent.parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the Celery worker exited: see {self.log_path}")
            if b" ready." in self.log_path.read_bytes()[start_offset:]:
                return self
            time.sleep(0.2)
        raise TimeoutError(f"the Celery worker did not start: see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="session")
def shared_fs_url(s3_server) -> str:
    """A storage URL fixed for the session: a worker process needs to know it up front."""
    config, _ = s3_server
    return config.with_prefix("w" + secrets.token_hex(4)).to_url()


@pytest.fixture
def queue() -> Iterator[str]:
    """A queue of this test's own for the messages it sends (a worker started for it may read it)."""
    name = "test-" + secrets.token_hex(4)
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = name
    yield name
    celery_app.conf.task_default_queue = previous


@contextmanager
def worker_on_own_queue(fs_url: str, log_path: Path, extra_env: dict[str, str] | None = None) -> Iterator[Worker]:
    """A running worker on a queue of its own, to which the test process sends meanwhile."""
    queue = "test-" + secrets.token_hex(4)
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    worker = Worker(fs_url, queue, log_path, extra_env).start()
    try:
        yield worker
    finally:
        worker.stop()
        celery_app.conf.task_default_queue = previous


@pytest.fixture
def celery_worker(transactional_db, shared_fs_url, settings, tmp_path) -> Iterator[Worker]:
    """A running worker on a queue of this test's own; the test process sends to that queue."""
    settings.COZY_FS_URL = shared_fs_url
    with worker_on_own_queue(shared_fs_url, tmp_path / "worker.log") as worker:
        yield worker
