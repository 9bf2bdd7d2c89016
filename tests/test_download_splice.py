"""Large downloads under gunicorn go from the store's socket to the client's by splice(2)
(cozy/files/splice.py): the bytes, ranges and keep-alive framing are those of the plain path,
and a store that cuts its answer mid-body cuts the client's, never sends wrong bytes."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import http.client
import json
import os
import re
import socket
import time

import psutil
import pytest

from benchmarks.bench_api import DOMAIN, gunicorn, server_env, setup_database
from cozy.files.relay import UNSENT_MAX
from tests.cozyclient import ROOT, md5_b64
from tests.faultproxy import CuttingProxy
from tests.test_files_streamed import send

pytestmark = pytest.mark.s3contract
MiB = 1024 * 1024
SIZE = 20 * MiB + 12345  # past the 16 MiB after which a fast client gets 1 MiB moves


@pytest.fixture(scope="module")
def live(tmp_path_factory, s3_server):
    """gunicorn whose store is behind a proxy that can cut replies; one large file in it."""
    config, _ = s3_server
    proxy = CuttingProxy(config.host, config.port)
    through = dataclasses.replace(config, host="127.0.0.1", port=proxy.port).with_prefix("tsplice")
    tmp = tmp_path_factory.mktemp("gunicorn-splice")
    env = server_env(tmp, through.to_url())
    token = setup_database(env)
    data = os.urandom(SIZE)
    with gunicorn(env, tmp / "gunicorn.log") as server:
        with contextlib.closing(http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)) as conn:
            status, body = send(conn, token, "POST", f"/files/{ROOT}?Type=file&Name=big", data,
                                **{"Content-MD5": md5_b64(data)})
            assert status == 201, body[:300]
        yield server.port, token, proxy, json.loads(body)["data"]["id"], data, tmp / "gunicorn.log", env
    proxy.close()


def get(conn: http.client.HTTPConnection, token: str, path: str, **headers: str):
    conn.request("GET", path, headers={"Host": DOMAIN, "Authorization": f"Bearer {token}", **headers})
    resp = conn.getresponse()
    return resp.status, dict(resp.getheaders()), resp.read()


def digest(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_whole_files_and_ranges_have_their_bytes_on_one_keep_alive_connection(live):
    port, token, _, doc, data, log, _ = live
    path = f"/files/download/{doc}"
    ranges = {"bytes=0-": data, "bytes=1000-5243897": data[1000:5243898], "bytes=0-2097151": data[: 2 * MiB],
              f"bytes=-{3 * MiB}": data[-3 * MiB:], f"bytes={SIZE - MiB}-{SIZE + 999}": data[-MiB:]}
    with contextlib.closing(http.client.HTTPConnection("127.0.0.1", port, timeout=60)) as conn:
        status, headers, body = get(conn, token, path)
        assert (status, headers["Content-Length"], digest(body)) == (200, str(SIZE), digest(data))
        for value, want in ranges.items():
            status, headers, body = get(conn, token, path, Range=value)
            assert (status, len(body), digest(body)) == (206, len(want), digest(want)), value
        status, _, body = get(conn, token, f"/files/{doc}")  # the connection still frames requests right
        assert status == 200 and json.loads(body)["data"]["id"] == doc
    # The body went around gunicorn: its access log counts only the bytes it wrote itself.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not re.search(rf'"GET {path} HTTP/1.1" 200 \d+', log.read_text()):
        time.sleep(0.05)
    sizes = [int(n) for n in re.findall(rf'"GET {path} HTTP/1.1" 200 (\d+)', log.read_text())]
    assert sizes and all(n < MiB for n in sizes)


def test_a_store_cut_mid_download_cuts_the_client_short_with_right_bytes(live):
    port, token, proxy, doc, data, _, _ = live
    proxy.cut_reply_after(5 * MiB)
    try:
        with contextlib.closing(http.client.HTTPConnection("127.0.0.1", port, timeout=60)) as conn:
            conn.request("GET", f"/files/download/{doc}", headers={"Host": DOMAIN, "Authorization": f"Bearer {token}"})
            resp = conn.getresponse()
            assert resp.status == 200
            got = bytearray()
            while chunk := resp.read(MiB):  # b"" when the server closes the connection
                got += chunk
    finally:
        proxy.heal()
    assert 0 < len(got) < 5 * MiB and bytes(got) == data[: len(got)]
    with contextlib.closing(http.client.HTTPConnection("127.0.0.1", port, timeout=60)) as conn:
        status, _, body = get(conn, token, f"/files/download/{doc}")  # the server serves on
        assert (status, digest(body)) == (200, digest(data))


def test_a_client_that_stops_reading_is_cut_after_the_idle_timeout(live, tmp_path):
    _, token, _, doc, _, _, env = live
    with gunicorn({**env, "COZY_HTTP_IDLE_TIMEOUT": "2", "LOG_LEVEL": "INFO"}, tmp_path / "gunicorn.log") as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # far too small for the file
            sock.sendall(f"GET /files/download/{doc} HTTP/1.1\r\nHost: {DOMAIN}\r\n"
                         f"Authorization: Bearer {token}\r\n\r\n".encode())
            got = len(sock.recv(MiB))  # the download started
            # Read nothing more until the server has let go of this connection.
            wait_until_the_server_closes(server, sock.getsockname()[1], deadline=time.monotonic() + 30)
            deadline = time.monotonic() + 30
            while chunk := sock.recv(MiB):  # what the kernels still held, then the server's close
                got += len(chunk)
                assert time.monotonic() < deadline, "the server never cut the stalled download"
    assert 0 < got < SIZE
    logged = (tmp_path / "gunicorn.log").read_text()
    assert "download cut: the client read nothing for 2.0 s" in logged  # one line, no traceback
    assert "Traceback" not in logged and "Socket error" not in logged


def wait_until_the_server_closes(server, client_port: int, deadline: float) -> None:
    """Poll the workers' sockets until none is still connected to ``client_port`` (one was)."""
    def connected() -> bool:
        return any(conn.raddr and conn.raddr.port == client_port and conn.status == psutil.CONN_ESTABLISHED
                   for worker in server.workers() for conn in worker.net_connections("tcp"))

    assert connected(), "no worker holds the download's connection"
    while connected():
        assert time.monotonic() < deadline, "the server never cut the stalled download"
        time.sleep(0.1)


@pytest.mark.parametrize("splice", ["1", "0"])
@pytest.mark.parametrize("first", [0, 1000])
def test_a_client_that_pauses_holds_no_store_get_then_gets_its_exact_bytes(live, tmp_path, splice, first):
    """Past COZY_DOWNLOAD_RELEASE_AFTER without the client reading, the store's GET is closed;
    when the client reads again, ranged GETs resume where the download was, bytes exact."""
    _, token, proxy, doc, data, _, env = live
    server_env_ = {**env, "COZY_DOWNLOAD_RELEASE_AFTER": "0.5", "COZY_HTTP_IDLE_TIMEOUT": "60",
                   "COZY_DOWNLOAD_SPLICE": splice}
    with gunicorn(server_env_, tmp_path / "gunicorn.log") as server:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # far too small for the file
        sock.settimeout(60)
        sock.connect(("127.0.0.1", server.port))
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.sock = sock
        with contextlib.closing(conn):
            gets_before = proxy.gets
            conn.request("GET", f"/files/download/{doc}",
                         headers={"Host": DOMAIN, "Authorization": f"Bearer {token}", "Range": f"bytes={first}-"})
            resp = conn.getresponse()
            assert resp.status == 206
            got = bytearray(resp.read(64 * 1024))
            assert proxy.open_gets() == 1, "the download holds its GET while the client reads"
            deadline = time.monotonic() + 20  # well before the idle timeout
            while proxy.open_gets():
                assert time.monotonic() < deadline, "the paused download still holds a GET on the store"
                time.sleep(0.05)
            # The kernel holds little of it unsent for this client (cozy.files.relay.UNSENT_MAX).
            assert 0 < unsent_by_server(server.port, sock.getsockname()[1]) <= UNSENT_MAX + 256 * 1024
            while chunk := resp.read(256 * 1024):
                got += chunk
            assert (len(got), digest(bytes(got))) == (SIZE - first, digest(data[first:]))
            assert proxy.gets - gets_before >= 2, "the download resumed with a new GET"
            status, _, body = get(conn, token, f"/files/{doc}")  # the connection still frames requests right
            assert status == 200 and json.loads(body)["data"]["id"] == doc


def unsent_by_server(server_port: int, client_port: int) -> int:
    """The bytes the server's socket to ``client_port`` holds not yet acknowledged (tx_queue
    of /proc/net/tcp): with the client's window closed, what it could not send."""
    want = (f"0100007F:{server_port:04X}", f"0100007F:{client_port:04X}")
    with open("/proc/net/tcp") as table:
        for row in table.readlines()[1:]:
            fields = row.split()
            if (fields[1], fields[2]) == want:
                return int(fields[4].split(":")[0], 16)
    raise AssertionError("no server socket to the client")



def reply(status: int, headers: list[tuple[str, str]], body: bytes, **replaced: str) -> bytes:
    """A raw HTTP answer: ``headers``, those named in ``replaced`` (``_`` for ``-``) set to
    its value instead, or dropped for ""."""
    named = {k.replace("_", "-").lower(): v for k, v in replaced.items()}
    lines = [f"{k}: {v}" for k, v in headers if k.lower() not in named] + [f"{k}: {v}" for k, v in named.items() if v]
    return (f"HTTP/1.1 {status} Whatever\r\n" + "".join(f"{line}\r\n" for line in lines) + "\r\n").encode() + body


def chunked(body: bytes, size: int = 65536) -> bytes:
    parts = (body[i: i + size] for i in range(0, len(body), size))
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


def broken_resume(kind: str, proxy: CuttingProxy, data: bytes):
    """An answer to a download's resumed GET (the one with a Range) as a broken store gives it."""
    def answer(request: bytes) -> bytes | None:
        if not re.search(rb"\r\nrange: bytes=[1-9]", request, re.IGNORECASE):
            return None
        status, headers, body = proxy.store_answer(request)
        if kind == "the whole object":  # Range ignored
            return reply(200, headers, data, content_length=str(len(data)), content_range="")
        if kind == "another range":
            return reply(206, headers, data[: len(body)], content_range=f"bytes 0-{len(body) - 1}/{len(data)}")
        assert kind == "chunked"
        return reply(status, headers, chunked(body), content_length="", transfer_encoding="chunked")
    return answer


@pytest.mark.parametrize("splice,kind", [("1", "the whole object"), ("0", "the whole object"),
                                         ("1", "another range"), ("0", "another range"), ("1", "chunked")])
def test_a_resumed_get_answered_with_other_bytes_cuts_the_client_short(live, tmp_path, splice, kind):
    """A store that answers the resumed GET with other bytes than those asked, or in a form that
    cannot be spliced, has the client cut short, its bytes right up to the cut."""
    _, token, proxy, doc, data, _, env = live
    server_env_ = {**env, "COZY_DOWNLOAD_RELEASE_AFTER": "0.3", "COZY_HTTP_IDLE_TIMEOUT": "30",
                   "COZY_DOWNLOAD_SPLICE": splice}
    with gunicorn(server_env_, tmp_path / "gunicorn.log") as server:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # far too small for the file
            sock.settimeout(30)
            sock.connect(("127.0.0.1", server.port))
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            conn.sock = sock
            closes = proxy.closes
            conn.request("GET", f"/files/download/{doc}", headers={"Host": DOMAIN, "Authorization": f"Bearer {token}"})
            resp = conn.getresponse()
            got = bytearray(resp.read(64 * 1024))
            deadline = time.monotonic() + 20
            while proxy.closes == closes:  # the paused download lets go of its GET
                assert time.monotonic() < deadline, "the paused download never let go of its GET"
                time.sleep(0.05)
            proxy.answer_with(broken_resume(kind, proxy, data))
            try:
                with contextlib.suppress(http.client.IncompleteRead, ConnectionError):
                    while chunk := resp.read1(256 * 1024):
                        got += chunk
            finally:
                proxy.answer_with(None)
    assert 0 < len(got) < SIZE and bytes(got) == data[: len(got)]
