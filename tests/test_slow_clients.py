"""Slow clients cannot starve the web server (the real one: gunicorn's gevent worker, cozy.core.web).

100 uploads that send their headers and a few bytes, then nothing: a GET still
answers at once; the uploads past the per-instance cap are refused at once with
503 and Retry-After; the others are cut after the idle timeout with 408; nothing
of any of them is stored. (Before, 40 such uploads held every thread of the
server and every other request timed out.)
"""

from __future__ import annotations

import secrets
import select
import socket
import time

import pytest

from cozy.instances.services import org_bucket
from s3util import make_client, parse_fs_url
from tests.cozyclient import ROOT, make_instance
from tests.httpserver import start_gunicorn, stop

pytestmark = pytest.mark.django_db(transaction=True)
IDLE = 8  # seconds, COZY_HTTP_IDLE_TIMEOUT of this test's server
PER_INSTANCE = 16


@pytest.fixture
def server(transactional_db, shared_fs_url, settings, tmp_path):
    settings.COZY_FS_URL = shared_fs_url
    srv = start_gunicorn(shared_fs_url, tmp_path / "gunicorn.log", extra_env={
        "COZY_HTTP_IDLE_TIMEOUT": str(IDLE), "COZY_MAX_UPLOADS_PER_INSTANCE": str(PER_INSTANCE)})
    yield srv
    stop(srv)


def stalled(port: int, host: str, token: str, n: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall((f"POST /files/{ROOT}?Type=file&Name=stalled-{n}.bin HTTP/1.1\r\nHost: {host}\r\n"
               f"Authorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\n"
               f"Content-Length: 1048576\r\n\r\n").encode() + b"first bytes")
    return s


def answers(socks: list[socket.socket], deadline: float, want: int) -> dict[socket.socket, bytes]:
    """The first bytes the sockets receive (b"" when closed), until ``want`` came or the deadline."""
    got: dict[socket.socket, bytes] = {}
    while len(got) < want and time.monotonic() < deadline:
        waiting = [s for s in socks if s not in got]
        for s in select.select(waiting, [], [], 0.5)[0]:
            try:
                got[s] = s.recv(4096)
            except OSError:
                got[s] = b""
    return got


def test_stalled_uploads_do_not_starve_the_server(server, shared_fs_url):
    instance, token = make_instance(f"slow-{secrets.token_hex(3)}.localhost", "sloane", org="slow")
    status, _, body = server.request("POST", f"/files/{ROOT}?Type=file&Name=kept.txt", host=instance.domain,
                                     body=b"kept", headers={"Authorization": f"Bearer {token}",
                                                            "Content-Type": "text/plain"})
    assert status == 201, body
    socks = [stalled(server.port, instance.domain, token, n) for n in range(100)]
    try:
        refused = answers(socks, time.monotonic() + 30, 100 - PER_INSTANCE)  # past the cap: at once
        assert sum(1 for v in refused.values() if v.startswith(b"HTTP/1.1 503")) == 100 - PER_INSTANCE
        assert all(b"Retry-After: 5" in v for v in refused.values() if v.startswith(b"HTTP/1.1 503"))
        started = time.monotonic()
        status, _, _ = server.request("GET", f"/files/{ROOT}", host=instance.domain, timeout=5,
                                      headers={"Authorization": f"Bearer {token}"})
        assert status == 200 and time.monotonic() - started < 5
        held = [s for s in socks if s not in refused]
        assert len(held) == PER_INSTANCE
        cut = answers(held, time.monotonic() + IDLE + 30, PER_INSTANCE)
        assert len(cut) == PER_INSTANCE and all(v.startswith(b"HTTP/1.1 408") for v in cut.values())
        assert time.monotonic() - started >= IDLE / 2  # cut by the idle timeout, not before
    finally:
        for s in socks:
            s.close()
    client = make_client(parse_fs_url(shared_fs_url))
    listed = client.list_objects(org_bucket(instance), prefix=instance.key_prefix, recursive=True)
    assert len(list(listed)) == 1  # only kept.txt
