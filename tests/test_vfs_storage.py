"""The Django Storage contract of vfs_s3.storage.S3Storage, against a real S3 server."""

from __future__ import annotations

import hashlib
import io
import os
import urllib.error
import urllib.request
from datetime import UTC

import pytest
import urllib3
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.core.files.base import ContentFile, File

from s3util import ensure_bucket
from vfs_s3.errors import ChecksumMismatch
from vfs_s3.storage import S3Storage

pytestmark = pytest.mark.s3contract
MiB = 1024 * 1024
SMALL = {"multipart_threshold": 5 * MiB, "part_size": 5 * MiB, "parallel_parts": 3}


class Stream(io.RawIOBase):
    """A stream of unknown length, like a chunked request body."""

    def __init__(self, size: int, seed: int = 7):
        self.left, self.block = size, hashlib.sha256(str(seed).encode()).digest() * 2048  # 64 KiB
        self.hash = hashlib.md5()

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self.left, len(self.block))
        b[:n] = self.block[:n]
        self.hash.update(self.block[:n])
        self.left -= n
        return n


def pattern(size: int) -> bytes:
    return (bytes(range(256)) * (size // 256 + 1))[:size]


@pytest.fixture
def storage(fs_url, s3_client, s3_config) -> S3Storage:
    st = S3Storage(url=fs_url, **SMALL)
    ensure_bucket(s3_client, st.bucket_name)
    return st


@pytest.fixture
def multipart_starts(storage, monkeypatch) -> list:
    """Records every CreateMultipartUpload the storage sends."""
    calls: list = []
    original = storage.client._create_multipart_upload
    monkeypatch.setattr(storage.client, "_create_multipart_upload", lambda *a: calls.append(a) or original(*a))
    return calls


def part_numbers(storage, monkeypatch) -> list:
    numbers: list = []
    original = storage.client._upload_part
    monkeypatch.setattr(storage.client, "_upload_part", lambda *a: numbers.append(a[5]) or original(*a))
    return numbers


def incomplete_uploads(storage: S3Storage) -> list:
    return list(storage.client._list_multipart_uploads(storage.bucket_name).uploads)


def read_all(storage, name) -> bytes:
    with storage.open(name, "rb") as f:
        return f.read()


@pytest.mark.parametrize("size", [0, 1, 5 * MiB, 5 * MiB + 1])
def test_save_and_read_sizes(storage, size, multipart_starts):
    data = pattern(size)
    name = storage.save(f"sizes/{size}.bin", ContentFile(data))
    assert name == f"sizes/{size}.bin"
    assert storage.size(name) == size
    assert read_all(storage, name) == data
    info = storage.info(name)
    assert info.md5 == hashlib.md5(data).hexdigest()
    assert len(multipart_starts) == (1 if size > SMALL["multipart_threshold"] else 0)


def test_unknown_length_40mib_stream(storage, monkeypatch):
    parts = part_numbers(storage, monkeypatch)
    stream = Stream(40 * MiB)
    name = storage.save("big/stream.bin", File(stream, "stream.bin"))
    expected = stream.hash.hexdigest()
    assert storage.size(name) == 40 * MiB
    got = hashlib.md5()
    with storage.open(name) as f:
        for chunk in f.chunks():
            got.update(chunk)
    assert got.hexdigest() == expected
    assert storage.info(name).md5 == expected
    assert sorted(parts) == list(range(1, 9))  # 8 parts of 5 MiB


def test_ranged_read_to_last_byte_of_multipart_object(storage, multipart_starts):
    data = os.urandom(11 * MiB + 123)
    name = storage.save("range/obj", ContentFile(data))
    assert len(multipart_starts) == 1
    with storage.open(name) as f:
        f.seek(len(data) - 1000)
        assert f.read(1000) == data[-1000:]
        assert f.read(10) == b""
        f.seek(5 * MiB - 3)
        assert f.read(6) == data[5 * MiB - 3 : 5 * MiB + 3]
    start, end = len(data) - 777, len(data) - 1
    got = b"".join(storage.read(name, start, end))
    assert got == data[start:]


def test_open_is_one_get_and_seek_uses_ranges(storage, monkeypatch):
    """open() sends one GET (its headers give size, ETag, type, MD5: no HEAD); a small
    file read whole costs that one request; a seek opens a ranged GET."""
    data = pattern(3 * MiB)
    name = storage.save("count/obj", ContentFile(data))
    heads, gets = [], []
    stat, get = storage.client.stat_object, storage.client.get_object
    monkeypatch.setattr(storage.client, "stat_object", lambda *a, **k: heads.append(a) or stat(*a, **k))

    def counting_get(bucket, key, offset=0, length=0, **kw):
        gets.append((offset, length))
        return get(bucket, key, offset=offset, length=length, **kw)

    monkeypatch.setattr(storage.client, "get_object", counting_get)
    with storage.open(name) as f:
        assert f.size == len(data)
        f.seek(2 * MiB)
        assert f.read(10) == data[2 * MiB : 2 * MiB + 10]
    assert heads == []
    assert gets == [(0, 0), (2 * MiB, 0)]
    gets.clear()
    small = storage.save("count/small", ContentFile(b"tiny"))
    with storage.open(small) as f:
        assert (f.size, f.read()) == (4, b"tiny")
    assert (heads, gets) == ([], [(0, 0)])


@pytest.mark.parametrize("size", [100, 12 * MiB])
def test_md5_mismatch_stores_nothing(storage, size):
    data = os.urandom(size)
    wrong = hashlib.md5(b"something else").hexdigest()
    with pytest.raises(ChecksumMismatch):
        storage.save("bad/file", ContentFile(data), expected_md5=wrong)
    assert not storage.exists("bad/file")
    assert incomplete_uploads(storage) == []


def chunked(data: bytes, size: int = MiB):
    return (data[i:i + size] for i in range(0, len(data), size))


def test_streamed_put_stores_one_checked_object(storage, multipart_starts):
    data = os.urandom(12 * MiB + 5)
    md5 = hashlib.md5(data).hexdigest()
    assert storage.streams(len(data), md5) and not storage.streams(len(data), None)
    assert not storage.streams(5 * MiB, md5) and not storage.streams(None, md5)  # small: buffered and retried
    result = storage.put_streamed("big/streamed", chunked(data), len(data), md5, content_type="video/mp4")
    assert (result.size, result.md5) == (len(data), md5)
    assert multipart_starts == []  # one PUT
    stat = storage.client.stat_object(storage.bucket_name, "big/streamed")
    assert stat.etag == md5 and stat.metadata["x-amz-meta-md5"] == md5
    assert stat.content_type == "video/mp4"
    assert storage.open("big/streamed").read() == data


def test_streamed_put_refused_by_the_store_on_a_wrong_md5(storage):
    data = os.urandom(12 * MiB)
    with pytest.raises(ChecksumMismatch):
        storage.put_streamed("big/wrong", chunked(data), len(data), hashlib.md5(b"other").hexdigest())
    assert not storage.exists("big/wrong")
    assert incomplete_uploads(storage) == []


def test_streamed_put_cut_short_by_its_source_stores_nothing(storage):
    data = os.urandom(12 * MiB)

    def failing():
        yield data[:6 * MiB]
        raise RuntimeError("the client went away")

    with pytest.raises(RuntimeError):
        storage.put_streamed("big/cut", failing(), len(data), hashlib.md5(data).hexdigest())
    assert not storage.exists("big/cut")


def test_streamed_put_checks_the_etag_when_the_store_ignores_content_md5(storage, monkeypatch):
    """A store that skipped the Content-MD5 check still shows the MD5 of what it stored as the ETag."""
    data = os.urandom(12 * MiB)
    real_put = storage.client._put_object

    def put_without_content_md5(bucket, key, body, headers, *args, **kwargs):
        headers = {k: v for k, v in headers.items() if k != "Content-MD5"}  # as if the store ignored it
        return real_put(bucket, key, body, headers, *args, **kwargs)

    monkeypatch.setattr(storage.client, "_put_object", put_without_content_md5)
    with pytest.raises(ChecksumMismatch):
        storage.put_streamed("big/unchecked", chunked(data), len(data), hashlib.md5(b"other").hexdigest())
    assert not storage.exists("big/unchecked")


def test_stream_limit_option(fs_url):
    assert not S3Storage(url=fs_url, stream_limit=0).streams(20 * MiB, "0" * 32)
    with pytest.raises(ImproperlyConfigured):
        S3Storage(url=fs_url, stream_limit=6 * 1024 * MiB)


def test_a_failed_md5_copy_leaves_no_object(storage, monkeypatch):
    """Multipart without an expected MD5: the MD5 is added by a copy after completion; if that fails, no object."""

    def cut(*args, **kwargs):
        raise urllib3.exceptions.ProtocolError("connection reset")

    monkeypatch.setattr(storage.client, "copy_object", cut)
    with pytest.raises(OSError):
        storage.save("big/file", Stream(6 * MiB))
    assert not storage.exists("big/file")
    assert incomplete_uploads(storage) == []


@pytest.fixture
def big_source(fs_url, s3_client) -> tuple[S3Storage, bytes, str]:
    """A storage that copies by 5 MiB parts, and a 12 MiB object in it (three parts)."""
    st = S3Storage(url=fs_url, copy_part_size=5 * MiB, **SMALL)
    ensure_bucket(s3_client, st.bucket_name)
    data = os.urandom(12 * MiB)
    md5 = hashlib.md5(data).hexdigest()
    st.put("copy/src", data, length=len(data), expected_md5=md5, content_type="application/x-big")
    return st, data, md5


def part_copies(st: S3Storage, monkeypatch, fail_at: int | None = None) -> list:
    """Records the part numbers of every UploadPartCopy; ``fail_at`` cuts that one as a lost connection."""
    numbers: list = []
    original = st.client._upload_part_copy

    def upload_part_copy(bucket, name, upload_id, number, headers):
        numbers.append(number)
        if number == fail_at:
            raise urllib3.exceptions.ProtocolError("connection reset")
        return original(bucket, name, upload_id, number, headers)

    monkeypatch.setattr(st.client, "_upload_part_copy", upload_part_copy)
    return numbers


def test_a_copy_past_copy_part_size_is_a_multipart_copy(big_source, s3_client, monkeypatch):
    st, data, md5 = big_source
    parts = part_copies(st, monkeypatch)
    st.copy("copy/src", "copy/dst", md5=md5, content_type="application/x-big")
    assert parts == [1, 2, 3]
    copied = read_all(st, "copy/dst")
    assert copied == data and hashlib.md5(copied).hexdigest() == md5
    info = s3_client.stat_object(st.bucket_name, "copy/dst")
    assert info.size == 12 * MiB and info.content_type == "application/x-big"
    assert info.metadata.get("x-amz-meta-md5") == md5  # a multipart ETag is no MD5: the metadata says it
    assert incomplete_uploads(st) == []
    # up to copy_part_size: one CopyObject, no part
    st.put("copy/small", data[: 5 * MiB], length=5 * MiB, expected_md5=hashlib.md5(data[: 5 * MiB]).hexdigest())
    st.copy("copy/small", "copy/small2", md5=hashlib.md5(data[: 5 * MiB]).hexdigest(), content_type="text/plain")
    assert parts == [1, 2, 3] and read_all(st, "copy/small2") == data[: 5 * MiB]


def test_a_multipart_copy_cut_mid_way_leaves_nothing(big_source, monkeypatch):
    st, _, md5 = big_source
    parts = part_copies(st, monkeypatch, fail_at=2)
    with pytest.raises(OSError) as err:
        st.copy("copy/src", "copy/dst", md5=md5, content_type="application/x-big")
    assert parts == [1, 2] and "copy/" not in str(err.value) and st.bucket_name not in str(err.value)
    assert not st.exists("copy/dst")
    assert incomplete_uploads(st) == []  # aborted, not left for the lifecycle rule
    assert st.exists("copy/src")


def test_copy_part_size_option(fs_url):
    for bad in (5 * MiB - 1, 5 * 1024 * MiB + 1):
        with pytest.raises(ImproperlyConfigured):
            S3Storage(url=fs_url, copy_part_size=bad)


def test_md5_match_in_base64_is_accepted(storage):
    import base64

    data = os.urandom(6 * MiB)
    b64 = base64.b64encode(hashlib.md5(data).digest()).decode()
    name = storage.save("good/file", ContentFile(data), expected_md5=b64)
    assert storage.info(name).md5 == hashlib.md5(data).hexdigest()
    assert read_all(storage, name) == data


def test_content_md5_attribute(storage):
    content = ContentFile(b"hello")
    content.content_md5 = hashlib.md5(b"HELLO").hexdigest()
    with pytest.raises(ChecksumMismatch):
        storage.save("attr/file", content)
    assert not storage.exists("attr/file")


ODD_NAMES = ["unicode/Été à Paris — 日本語.txt", "spaces/a file  with spaces .txt", "x/+&=?#%.txt"]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_unicode_and_odd_names(storage, name):
    saved = storage.save(name, ContentFile(b"abc"))
    assert saved == name
    assert read_all(storage, name) == b"abc"
    folder, base = name.rsplit("/", 1)
    assert storage.listdir(folder) == ([], [base])
    assert storage.exists(name)


def test_listdir_over_1500_keys_with_subfolders(storage):
    from concurrent.futures import ThreadPoolExecutor

    names = [f"many/f{i:04d}" for i in range(1500)] + [f"many/sub{i}/x" for i in range(30)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: storage.client.put_object(storage.bucket_name, n, io.BytesIO(b"1"), 1), names))
    dirs, files = storage.listdir("many")
    assert sorted(dirs) == sorted(f"sub{i}" for i in range(30))
    assert len(files) == 1500 and files[0] == "f0000"
    assert storage.listdir("many/sub3") == ([], ["x"])


def test_write_mode_streams_and_commits_on_close(storage):
    with storage.open("wb/out.bin", "wb") as f:
        for _ in range(12):
            f.write(b"z" * MiB)
    assert storage.size("wb/out.bin") == 12 * MiB
    assert storage.info("wb/out.bin").md5 == hashlib.md5(b"z" * 12 * MiB).hexdigest()


def test_delete_and_missing(storage):
    storage.save("del/x", ContentFile(b"1"))
    storage.delete("del/x")
    assert not storage.exists("del/x")
    storage.delete("del/x")  # deleting again is harmless
    with pytest.raises(FileNotFoundError) as info:
        storage.open("del/x")
    assert storage.bucket_name not in str(info.value) and "del/x" not in str(info.value)
    with pytest.raises(FileNotFoundError):
        storage.size("del/x")


@pytest.mark.parametrize("bad", ["../etc/passwd", "a/../../b", "/abs/path", "nul\x00byte"])
def test_suspicious_names(storage, bad):
    with pytest.raises(SuspiciousOperation):
        storage.exists(bad)
    with pytest.raises(SuspiciousOperation):
        storage._save(bad, ContentFile(b"x"))


def test_unknown_option_is_refused(fs_url):
    with pytest.raises(ImproperlyConfigured):
        S3Storage(url=fs_url, no_such_option=1)
    with pytest.raises(ImproperlyConfigured):
        S3Storage(url=fs_url, part_size=1024)


def test_available_name_rules(storage):
    storage.save("names/a.txt", ContentFile(b"1"))
    assert storage.get_available_name("names/a.txt") == "names/a.txt"  # overwrite by default
    unique = S3Storage(url=storage.fs_url,
                       bucket=storage.bucket_name, file_overwrite=False)
    other = unique.get_available_name("names/a.txt")
    assert other != "names/a.txt" and other.startswith("names/a_") and other.endswith(".txt")
    long = unique.get_available_name("names/" + "b" * 80 + ".txt", max_length=40)
    assert len(long) <= 40


def test_times_are_aware(storage, settings):
    storage.save("t/x", ContentFile(b"1"))
    modified = storage.get_modified_time("t/x")
    assert modified.tzinfo is not None and modified.utcoffset() == UTC.utcoffset(None)
    assert storage.get_created_time("t/x") == modified
    settings.USE_TZ = False
    assert storage.get_modified_time("t/x").tzinfo is None


def test_presigned_url_serves_the_bytes(storage):
    storage.save("url/hello.txt", ContentFile(b"hello url"))
    url = storage.url("url/hello.txt")
    assert "X-Amz-Signature" in url
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == b"hello url"
    plain = S3Storage(url=storage.fs_url, bucket=storage.bucket_name, querystring_auth=False).url("url/hello.txt")
    assert "X-Amz-Signature" not in plain and plain.endswith("/url/hello.txt")


def test_public_url_signs_for_the_public_host(storage):
    st = S3Storage(url=storage.fs_url, bucket=storage.bucket_name, public_url="https://files.example.org")
    url = st.url("a/b.txt")
    assert url.startswith(f"https://files.example.org/{storage.bucket_name}/a/b.txt?")


def test_content_type_guessed_or_given(storage):
    storage.save("ct/page.html", ContentFile(b"<p>"))
    assert storage.info("ct/page.html").content_type == "text/html"
    content = ContentFile(b"{}")
    content.content_type = "application/json"
    storage.save("ct/data", content)
    assert storage.info("ct/data").content_type == "application/json"


@pytest.mark.django_db
def test_filefield_round_trip(fs_url):
    from tests.storage_app.models import Document

    doc = Document(title="report")
    doc.file.save("report.txt", ContentFile(b"quarterly numbers"), save=True)
    again = Document.objects.get(pk=doc.pk)
    assert again.file.name.startswith("uploads/") and again.file.name.endswith("report.txt")
    with again.file.open("rb") as f:
        assert f.read() == b"quarterly numbers"
    assert again.file.size == len(b"quarterly numbers")
    key = f"docs/{again.file.name}"
    assert again.file.storage.client.stat_object(again.file.storage.bucket_name, key).size == 17
