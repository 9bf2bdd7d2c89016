"""The app under gunicorn (a real HTTP server), on the test database."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cozy.core.web import web_command
from s3util.seaweedfs import free_ports
from tests.worker import test_database_url

ROOT_DIR = Path(__file__).resolve().parent.parent


@dataclass
class Server:
    port: int
    proc: subprocess.Popen
    log_path: Path

    def request(self, method: str, path: str, *, host: str, body=None, headers: dict | None = None,
                timeout: float = 120) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers={"Host": host, **(headers or {})},
                         encode_chunked=headers is not None and headers.get("Transfer-Encoding") == "chunked")
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()


def start_gunicorn(fs_url: str, log_path: Path, *, extra_env: dict | None = None, workers: int = 1) -> Server:
    """The web server of the real run (cozy.core.web), on the test database."""
    (port,) = free_ports(1)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": test_database_url(),
           "COZY_FS_URL": fs_url, "ALLOWED_HOSTS": "*", "COZY_WEB_WORKERS": str(workers), **(extra_env or {})}
    cmd = web_command(f"127.0.0.1:{port}", env)
    log = open(log_path, "ab")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT_DIR,
                            start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited: see {log_path}")
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/api/openapi.json")
            return Server(port, proc, log_path)
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("gunicorn did not start")


def stop(server: Server) -> None:
    if server.proc.poll() is None:
        os.killpg(server.proc.pid, signal.SIGTERM)
        try:
            server.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.proc.pid, signal.SIGKILL)


@pytest.fixture
def http_server(transactional_db, shared_fs_url, settings, tmp_path) -> Iterator[Server]:
    settings.COZY_FS_URL = shared_fs_url
    # Room for the concurrency tests' 20 uploads at once to one instance (the cap is tested on its own).
    server = start_gunicorn(shared_fs_url, tmp_path / "gunicorn.log", extra_env={"COZY_MAX_UPLOADS_PER_INSTANCE": "64"})
    try:
        yield server
    finally:
        stop(server)
