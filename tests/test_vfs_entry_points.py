"""The storage layer's entry points that apps use: put, read, list, delete_many, and pinned reads."""

from __future__ import annotations

import hashlib
import io
import os
import socket

import pytest

from vfs_s3.errors import ChecksumMismatch, ObjectChanged
from vfs_s3.storage import KeyOutsidePrefix, S3Storage

pytestmark = pytest.mark.s3contract
MiB = 1024 * 1024


@pytest.fixture
def store(fs_url, s3_client, s3_config) -> S3Storage:
    st = S3Storage(url=fs_url, bucket=f"{s3_config.bucket_prefix}-entry", location="inst/area",
                   multipart_threshold=5 * MiB, part_size=5 * MiB)  # fmt: skip
    st.ensure_bucket()
    return st


def test_put_takes_bytes_files_and_iterators_and_picks_the_way(store, s3_client):
    big = os.urandom(12 * MiB)
    md5 = hashlib.md5(big).hexdigest()
    assert store.put("a", b"small bytes").size == 11
    assert store.put("b", io.BytesIO(big)).md5 == md5  # unknown length: multipart, hashed here
    streamed = store.put("c", iter([big[:6 * MiB], big[6 * MiB:]]), length=len(big), expected_md5=md5)
    assert streamed.etag.strip('"') == md5  # one PUT checked by the store, not a multipart ETag
    slow = S3Storage(url=store.fs_url, bucket=store.bucket, location=store.location, multipart_threshold=5 * MiB,
                     part_size=5 * MiB, stream_min_rate=10**15)  # no client is that fast: the writer
    assert slow.put("d", big, length=len(big), expected_md5=md5).etag.endswith("-3")
    for name in "bcd":
        assert b"".join(store.read(name)) == big
    assert [o.name for o in store.list()] == ["a", "b", "c", "d"]
    keys = [o.object_name for o in s3_client.list_objects(store.bucket, recursive=True)]
    assert keys == [f"inst/area/{n}" for n in "abcd"]  # names stay inside the location


def test_put_with_a_wrong_md5_stores_nothing(store):
    data = os.urandom(7 * MiB)
    for body in (data, iter([data])):
        with pytest.raises(ChecksumMismatch):
            store.put("wrong", body, length=len(data), expected_md5=hashlib.md5(b"other").hexdigest())
    assert list(store.list()) == []


def test_read_ranges_and_missing(store):
    store.put("r", b"0123456789")
    assert b"".join(store.read("r", 2, 5)) == b"2345"
    assert b"".join(store.read("r", 7)) == b"789"
    with pytest.raises(FileNotFoundError):
        next(store.read("nothing"))


def test_an_open_body_gives_its_buffered_bytes_then_its_socket(store):
    data = os.urandom(3 * MiB + 7)
    store.put("body", data)
    for start, end, want in [(0, None, data), (0, 99, data[:100]), (MiB, 2 * MiB, data[MiB:2 * MiB + 1])]:
        body = store.open_body("body", start, end)
        try:
            fileno = body.fileno()
            assert fileno is not None  # plain HTTP, known length: a relay may read the socket
            got = body.buffered()
            assert got == want[: len(got)]
            with socket.socket(fileno=os.dup(fileno)) as sock:
                sock.settimeout(30)
                while len(got) < len(want) and (chunk := sock.recv(len(want) - len(got))):
                    got += chunk
            assert got == want
        finally:
            body.close()
    with pytest.raises(FileNotFoundError):
        store.open_body("missing")


def test_list_pages_and_delete_many(store):
    for n in range(5):
        store.put(f"d/{n}", b"x")
    store.put("e", b"y")
    assert [[o.name for o in page] for page in store.list_pages("d/", 2)] == [["d/0", "d/1"], ["d/2", "d/3"], ["d/4"]]
    assert sorted(o.name for o in store.list(recursive=False)) == ["d/", "e"]
    store.delete_many([f"d/{n}" for n in range(5)] + ["never-there"])
    assert [o.name for o in store.list()] == ["e"]


def test_a_read_is_pinned_to_the_version_it_opened(store):
    """Open 10 bytes, overwrite with 20: the open file must not hand out the new bytes."""
    store.put("v", b"0123456789")
    with store.open("v") as f:
        assert f.size == 10
        store.put("v", b"abcdefghijklmnopqrst")
        assert f.read() == b"0123456789"  # the GET opened with the file: the version it opened
    with store.open("v") as f:
        assert f.read(3) == b"abc"
        store.put("v", b"ABCDEFGHIJKLMNOPQRST")
        f.seek(10)  # a seek opens a new ranged GET: it must not mix in the other version
        with pytest.raises(ObjectChanged):
            f.read(5)
    etag = store.info("v").etag
    store.put("v", b"new")
    with pytest.raises(ObjectChanged):
        next(store.read("v", etag=etag))


def test_a_key_outside_the_prefix_is_refused(store, s3_client, monkeypatch):
    store.put("ok", b"1")
    original = store.client.list_objects

    def ignoring_prefix(bucket, prefix=None, **kw):
        return original(bucket, prefix="", **kw)  # a store that ignores the prefix

    monkeypatch.setattr(store.client, "list_objects", ignoring_prefix)
    s3_client.put_object(store.bucket, "inst/other", io.BytesIO(b"n"), 1)
    with pytest.raises(KeyOutsidePrefix):
        list(store.list())
