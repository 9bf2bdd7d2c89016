"""The file-object side of vfs_s3 (found in review): content types callers hand to save(),
reopening, raw bytes of encoded objects, aborting a write, reader edge cases, MD5 forms,
and options refused at construction."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile, File

from s3util import ensure_bucket
from vfs_s3.storage import S3Storage

pytestmark = pytest.mark.s3contract
DATA = b"checksummed bytes\n" * 50
DIGEST = hashlib.md5(DATA).digest()


@pytest.fixture
def storage(fs_url, s3_client) -> S3Storage:
    st = S3Storage(url=fs_url)
    ensure_bucket(s3_client, st.bucket_name)
    return st


def read_all(storage: S3Storage, name: str) -> bytes:
    with storage.open(name, "rb") as f:
        return f.read()


class BareReader:
    """Only read(): no seek, no seekable, no closed (Django's own File.chunks copes with it)."""

    def __init__(self, data: bytes):
        self._buf = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._buf.read(n)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (ContentFile("héllo"), "héllo".encode()),
        (File(io.StringIO("line1\nline2\n"), "t.txt"), b"line1\nline2\n"),
        (BareReader(b"abc" * 10), b"abc" * 10),
    ],
    ids=["str", "text-file", "bare-reader"],
)
def test_save_takes_what_filesystemstorage_takes(storage, content, expected):
    assert read_all(storage, storage.save("kinds/obj", content)) == expected


def test_a_closed_file_reopens_from_s3_never_from_the_local_disk(storage, tmp_path, monkeypatch):
    name = storage.save("reopen/b.bin", ContentFile(b"from S3"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reopen").mkdir()
    (tmp_path / "reopen" / "b.bin").write_bytes(b"LOCAL DISK")
    f = storage.open(name, "rb")
    assert f.read() == b"from S3"
    f.close()
    with f.open("rb") as again:
        assert again.read() == b"from S3"
    with f.open() as twice:
        assert twice.read(4) == b"from"
        assert twice.open().read() == b"from S3"  # open() on an open file rewinds


@pytest.mark.django_db
def test_a_filefield_opens_twice(fs_url):
    from tests.storage_app.models import Document

    doc = Document(title="twice")
    doc.file.save("twice.txt", ContentFile(b"numbers"), save=True)
    again = Document.objects.get(pk=doc.pk)
    for _ in range(2):
        with again.file.open("rb") as f:
            assert f.read() == b"numbers"


def test_an_encoded_object_reads_as_its_stored_bytes(fs_url, s3_client):
    st = S3Storage(url=fs_url, object_parameters={"ContentEncoding": "gzip"})
    ensure_bucket(s3_client, st.bucket_name)
    raw = gzip.compress(b"hello world " * 1000)
    name = st.save("gz/data.txt.gz", ContentFile(raw))
    assert st.size(name) == len(raw)
    with st.open(name, "rb") as f:
        assert f.read() == raw and f.tell() == len(raw)
        f.seek(10)
        assert f.read(20) == raw[10:30]
        buf = bytearray(8)
        assert f.readinto(buf) == 8 and bytes(buf) == raw[30:38]


def test_an_error_inside_a_wb_block_stores_nothing(storage):
    with pytest.raises(RuntimeError), storage.open("wb/partial.bin", "wb") as f:
        f.write(b"half of the ")
        raise RuntimeError("the producer failed")
    assert not storage.exists("wb/partial.bin")
    with storage.open("wb/whole.bin", "wb") as f:
        f.write(b"all of it")
    assert read_all(storage, "wb/whole.bin") == b"all of it"


def test_reader_edge_cases_behave_like_bytesio(storage):
    name = storage.save("edge/x.bin", ContentFile(b"0123456789"))
    f = storage.open(name, "rb")
    with pytest.raises(ValueError):
        f.seek(0, 7)
    f.seek(-3, io.SEEK_END)
    assert f.read() == b"789"
    f.close()
    with pytest.raises(ValueError):
        f.file.read(1)


@pytest.mark.parametrize(
    "form",
    [
        DIGEST.hex().upper(),
        DIGEST.hex().encode(),
        DIGEST,
        bytearray(DIGEST),
        base64.b64encode(DIGEST).decode(),
        base64.encodebytes(DIGEST).decode(),  # a trailing newline
        " " + DIGEST.hex() + "\n",
    ],
)
def test_expected_md5_in_every_usual_form(storage, form):
    name = storage.save("md5/f.bin", ContentFile(DATA), expected_md5=form)
    assert storage.info(name).md5 == DIGEST.hex()


@pytest.mark.parametrize("mode", ["r", "w", "rt", "ab", "r+b"])
def test_modes_other_than_rb_and_wb_are_refused(storage, mode):
    storage.save("modes/a.txt", ContentFile(b"x"))
    with pytest.raises(ValueError, match="rb or wb"):
        storage.open("modes/a.txt", mode)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"public_url": "https://cdn.example.org/s3"}, "no path"),
        ({"bucket": "Private_Media_Bucket"}, "bucket name"),
        ({"bucket": "192.168.0.1"}, "bucket name"),
    ],
)
def test_options_s3_cannot_honour_are_refused(fs_url, options, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        S3Storage(url=fs_url, **options)
    assert "Private_Media_Bucket" not in message
