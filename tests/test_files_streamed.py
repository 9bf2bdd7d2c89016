"""Large uploads with a Content-MD5 go as one streamed PUT the store checks; under
gunicorn, their body is read from the socket directly (cozy/files/body.py)."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import socket

import pytest
from django.test import Client
from gunicorn.http.body import Body, ChunkedReader, LengthReader
from gunicorn.http.unreader import SocketUnreader

from benchmarks.bench_api import DOMAIN, gunicorn, server_env, setup_database
from cozy.files.body import socket_body, socket_reader
from cozy.files.models import Node, Version
from cozy.instances.services import org_bucket
from tests.cozyclient import ROOT, Cozy, content_key, doc_id, make_instance, md5_b64
from tests.test_files_api import assert_error, objects

pytestmark = pytest.mark.s3contract
MiB = 1024 * 1024


@pytest.fixture
def cozy(fs_url, s3_client) -> Cozy:
    instance, token = make_instance("streamed.localhost", "stella", org="streamed")
    return Cozy(instance, token, Client())


def stored(cozy: Cozy, s3_client, node: Node):
    return s3_client.stat_object(org_bucket(cozy.instance),
                                 content_key(cozy.instance, node.doc_id, node.content_id))


@pytest.mark.django_db(transaction=True)
def test_a_large_upload_with_content_md5_is_one_put(cozy, s3_client):
    data = os.urandom(20 * MiB + 3)
    node = Node.objects.get(doc_id=doc_id(cozy.upload("big.bin", data)))
    assert (node.size, node.md5) == (len(data), hashlib.md5(data).hexdigest())
    stat = stored(cozy, s3_client, node)
    assert stat.etag == node.md5  # a single PUT: a multipart ETag ends in -N
    assert stat.metadata["x-amz-meta-md5"] == node.md5
    assert cozy.download(node.doc_id) == data


@pytest.mark.django_db(transaction=True)
def test_a_large_upload_with_a_wrong_content_md5_stores_nothing(cozy, s3_client):
    resp = cozy.upload("bad.bin", os.urandom(20 * MiB), md5=md5_b64(b"something else"))
    assert "Content-MD5" in assert_error(resp, 412, cozy)["errors"][0]["detail"]
    assert not Node.objects.filter(name="bad.bin").exists()
    assert objects(cozy, s3_client) == []


@pytest.mark.django_db(transaction=True)
def test_a_large_overwrite_keeps_the_old_content_as_a_version(cozy, s3_client):
    first, second = os.urandom(12 * MiB), os.urandom(12 * MiB)
    fid = doc_id(cozy.upload("v.bin", first))
    assert cozy.put(fid, second).status_code == 200
    assert cozy.download(fid) == second
    version = Version.objects.get(file__doc_id=fid)
    assert version.md5 == hashlib.md5(first).hexdigest()
    assert cozy.download(f"{fid}/{version.content_id}") == first
    assert len(objects(cozy, s3_client)) == 2


# -- the socket reader, on gunicorn's own classes and a real socket ------------------------
@pytest.fixture
def sockets():
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()


def test_socket_reader_reads_exactly_the_body(sockets):
    ours, theirs = sockets
    unreader = SocketUnreader(ours)
    unreader.unread(b"head-of-body|")  # what gunicorn read along with the headers
    theirs.sendall(b"rest-of-body" + b"NEXT REQUEST")
    stream = Body(LengthReader(unreader, 25))
    read = socket_reader(stream, 25)
    assert read is not None
    got = b""
    while chunk := read(7):
        got += chunk
    assert got == b"head-of-body|rest-of-body"
    assert stream.reader.length == 0  # gunicorn knows the body is consumed
    assert stream.read() == b""
    assert ours.recv(100) == b"NEXT REQUEST"  # nothing read past the body


def test_a_body_that_came_with_its_headers_is_in_hand(sockets):
    ours, _ = sockets
    unreader = SocketUnreader(ours)
    unreader.unread(b"whole body")  # gunicorn read it along with the headers
    body = socket_body(Body(LengthReader(unreader, 10)), 10)
    assert body is not None and body.held() == 10
    unreader = SocketUnreader(ours)
    unreader.unread(b"part")
    body = socket_body(Body(LengthReader(unreader, 10)), 10)
    assert body is not None and body.held() == 4  # the rest is still on the wire: not in hand


def test_socket_reader_leaves_the_rest_for_gunicorn_to_drain(sockets):
    ours, theirs = sockets
    theirs.sendall(b"0123456789")
    stream = Body(LengthReader(SocketUnreader(ours), 10))
    read = socket_reader(stream, 10)
    assert read(4) == b"0123"
    assert stream.read() == b"456789"  # what gunicorn does with a body the view did not finish


def test_socket_reader_is_not_used_when_unsafe(sockets):
    ours, _ = sockets
    started = Body(LengthReader(SocketUnreader(ours), 10))
    started.buf.write(b"ab")  # someone read part of the body through gunicorn already
    assert socket_reader(started, 10) is None
    assert socket_reader(Body(LengthReader(SocketUnreader(ours), 10)), 11) is None
    assert socket_reader(Body(ChunkedReader({}, SocketUnreader(ours))), 10) is None
    assert socket_reader(object(), 10) is None


# -- under real gunicorn: one keep-alive connection through every kind of upload -----------
@pytest.fixture(scope="module")
def live(tmp_path_factory, s3_server):
    config, _ = s3_server
    tmp = tmp_path_factory.mktemp("gunicorn")
    env = server_env(tmp, config.with_prefix("tlive").to_url())
    token = setup_database(env)
    with gunicorn(env, tmp / "gunicorn.log") as server:
        yield server.port, token


def send(conn: http.client.HTTPConnection, token: str, method: str, path: str, body: bytes = b"",
         **headers: str) -> tuple[int, bytes]:
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for name, value in {"Host": DOMAIN, "Authorization": f"Bearer {token}", "Content-Length": str(len(body)),
                        "Content-Type": "application/octet-stream", **headers}.items():
        conn.putheader(name, value)
    conn.endheaders(body[:1000] or None)  # the body's start in the headers' packet, as clients do
    view = memoryview(body)
    for start in range(1000, len(body), MiB):
        conn.send(view[start:start + MiB])
    resp = conn.getresponse()
    return resp.status, resp.read()


def test_uploads_under_gunicorn_on_one_keep_alive_connection(live):
    port, token = live
    small, streamed, hashed, wrong = b"hello" * 100, os.urandom(20 * MiB), os.urandom(12 * MiB), os.urandom(9 * MiB)
    ids = {}
    with contextlib.closing(http.client.HTTPConnection("127.0.0.1", port, timeout=60)) as conn:
        for name, data, md5 in [("small", small, md5_b64(small)), ("streamed", streamed, md5_b64(streamed)),
                                ("hashed", hashed, None)]:
            status, body = send(conn, token, "POST", f"/files/{ROOT}?Type=file&Name={name}", data,
                                **({"Content-MD5": md5} if md5 else {}))
            assert status == 201, body[:300]
            ids[name] = json.loads(body)["data"]["id"]
            assert json.loads(body)["data"]["attributes"]["md5sum"] == md5_b64(data)
        status, body = send(conn, token, "POST", f"/files/{ROOT}?Type=file&Name=wrong", wrong,
                            **{"Content-MD5": md5_b64(b"x")})
        assert status == 412, body[:300]
        for name, data in [("small", small), ("streamed", streamed), ("hashed", hashed)]:
            status, body = send(conn, token, "GET", f"/files/download/{ids[name]}")
            assert (status, hashlib.md5(body).hexdigest()) == (200, hashlib.md5(data).hexdigest())
