"""Streaming reads: chunks from S3, seek mapped to ranged GETs."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from minio import Minio
from minio.error import S3Error
from urllib3.connection import HTTPSConnection

from vfs_s3.errors import ObjectChanged, WrongRange, s3_errors
from vfs_s3.ranged import RangedReader
from vfs_s3.writer import MD5_META

CHUNK = 1024 * 1024
_CONTENT_RANGE = re.compile(r"bytes ([0-9]+)-([0-9]+)/([0-9]+|\*)")


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str
    content_type: str
    last_modified: datetime
    md5: str | None  # from user metadata, hex

    @classmethod
    def from_headers(cls, headers) -> ObjectInfo:
        """From the headers of a whole-object GET: what a HEAD would have said."""
        modified = headers.get("Last-Modified")
        return cls(
            size=int(headers.get("Content-Length") or 0),
            etag=(headers.get("ETag") or "").strip('"'),
            content_type=headers.get("Content-Type") or "application/octet-stream",
            last_modified=parsedate_to_datetime(modified) if modified else datetime.now(UTC),
            md5=headers.get(f"x-amz-meta-{MD5_META}"),
        )

    @classmethod
    def from_stat(cls, stat) -> ObjectInfo:
        meta = {k.lower(): v for k, v in (stat.metadata or {}).items()}
        return cls(
            size=stat.size,
            etag=stat.etag or "",
            content_type=stat.content_type or "application/octet-stream",
            last_modified=stat.last_modified,
            md5=meta.get(f"x-amz-meta-{MD5_META}"),
        )


def stat(client: Minio, bucket: str, key: str) -> ObjectInfo:
    with s3_errors():
        return ObjectInfo.from_stat(client.stat_object(bucket, key))


def pinned_get(client: Minio, bucket: str, key: str, etag: str | None, *, offset: int = 0, length: int = 0):
    """A GET of the object, refused unless its ETag is still ``etag`` (when given).

    ``If-Match`` makes the store refuse a changed object; the ETag of the answer
    is compared too, for a store that ignores the header. Either way a read never
    mixes the bytes of two versions of one key.
    """
    headers: dict[str, Any] | None = {"If-Match": f'"{etag}"'} if etag else None
    try:
        resp = client.get_object(bucket, key, offset=offset, length=length, request_headers=headers)
    except S3Error as err:
        if err.code == "PreconditionFailed":
            raise ObjectChanged("the object changed since it was opened") from None
        raise
    if etag and (resp.headers.get("ETag") or "").strip('"') not in ("", etag):
        resp.close()
        resp.release_conn()
        raise ObjectChanged("the object changed since it was opened")
    if not _is_range(resp, offset, length):
        resp.close()
        resp.release_conn()
        raise WrongRange("the store answered other bytes than the range asked")
    return resp


def _is_range(resp, offset: int, length: int) -> bool:
    """Whether ``resp`` holds the bytes asked from ``offset`` (``length`` of them; 0: to the end).
    A store that ignores Range answers 200 with the whole object: right only from byte 0."""
    if not offset and not length:
        return True  # no Range was sent
    if resp.status == 200:
        return not offset and resp.headers.get("Content-Length") == str(length)
    match = _CONTENT_RANGE.fullmatch((resp.headers.get("Content-Range") or "").strip())
    if resp.status != 206 or match is None or int(match[1]) != offset:
        return False
    last = offset + length - 1 if length else None
    if match[3] != "*":  # the range ends at the object's end at most
        last = int(match[3]) - 1 if last is None else min(last, int(match[3]) - 1)
    return last is None or int(match[2]) == last


def iter_range(client: Minio, bucket: str, key: str, start: int = 0, end: int | None = None,
               chunk_size: int | Callable[[], int] = CHUNK, etag: str | None = None) -> Iterator[bytes]:
    """Yield the bytes ``start..end`` (inclusive; None = to the end) in chunks of ``chunk_size``,
    or of what ``chunk_size()`` answers before each read (a caller that paces its reads)."""
    length = 0 if end is None else end - start + 1
    if end is not None and length <= 0:
        return
    next_size = chunk_size if callable(chunk_size) else lambda: chunk_size
    with s3_errors():
        resp = pinned_get(client, bucket, key, etag, offset=start, length=length)
    try:
        with s3_errors():
            while data := resp.read(next_size(), decode_content=False):
                yield data
    finally:
        resp.close()
        resp.release_conn()


class OpenBody:
    """The body of one open GET, for a caller that moves it without Python reading it (cozy's
    zero-copy downloads): first ``buffered()``, the bytes http.client read with the headers,
    then the rest straight from the socket ``fileno()``.

    ``fileno()`` is None unless the body is plain bytes of a known length on a plain TCP
    socket (not TLS, not chunked); the caller then reads with ``read(n)``. The connection is
    closed at the end, never reused: its HTTP bookkeeping did not see the bytes.
    """

    def __init__(self, resp):
        self._resp = resp

    def fileno(self) -> int | None:
        conn, raw = self._resp.connection, self._resp._fp
        if conn is None or isinstance(conn, HTTPSConnection) or self._socket() is None:
            return None
        if raw is None or raw.chunked or raw.length is None or raw.length != self._resp.length_remaining:
            return None  # chunked, of unknown length, or read from already
        return raw.fileno()

    def _socket(self):
        """The response's socket; the connection lets go of it when the store says Connection: close."""
        raw = self._resp._fp
        return getattr(self._resp.connection, "sock", None) or getattr(getattr(raw.fp, "raw", None), "_sock", None)

    @property
    def etag(self) -> str | None:
        """The object's ETag, to pin a later GET of the same object to this version."""
        return (self._resp.headers.get("ETag") or "").strip('"') or None

    @property
    def timeout(self) -> float | None:
        """The store's read timeout, in seconds (None: none)."""
        sock = self._socket()
        return sock.gettimeout() if sock is not None else None

    def buffered(self) -> bytes:
        """The body bytes read past the headers already, or what one read of the socket gives."""
        with s3_errors():
            return self._resp._fp.fp.read1(1 << 16)  # more than http.client's buffer holds: all of it

    def read(self, size: int) -> bytes:
        with s3_errors():
            return self._resp.read(size, decode_content=False)

    def close(self) -> None:
        self._resp.close()
        self._resp.release_conn()


def open_body(client: Minio, bucket: str, key: str, start: int = 0, end: int | None = None,
              etag: str | None = None) -> OpenBody:
    """Open a GET of the bytes ``start..end`` (inclusive; None: to the end), as ``iter_range``
    does; FileNotFoundError when the object is missing."""
    with s3_errors():
        return OpenBody(pinned_get(client, bucket, key, etag, offset=start,
                                   length=0 if end is None else end - start + 1))


class S3RawReader(RangedReader):
    """A seekable, read-only view of one object.

    The object's info comes once, from a HEAD or from the first GET (``open_object``). Reading opens a GET from
    the current position (a ranged GET unless at 0); ``seek`` drops it, so the
    next read starts a new ranged GET. No whole-object download on seek. Every
    GET is pinned to the ETag of that HEAD: an object overwritten meanwhile
    raises :class:`ObjectChanged` instead of mixing versions.
    """

    def __init__(self, client: Minio, bucket: str, key: str, info: ObjectInfo, resp=None):
        super().__init__()
        self._client, self._bucket, self._key, self.info = client, bucket, key, info
        self._pos = 0
        self._resp = resp  # a whole-object GET already open (see open_object), or None

    @classmethod
    def open_object(cls, client: Minio, bucket: str, key: str) -> S3RawReader:
        """Open with one GET, its headers standing for the HEAD: half the requests of a
        HEAD then a GET, for a small file read whole. A seek before reading drops it."""
        with s3_errors():
            resp = client.get_object(bucket, key)
        return cls(client, bucket, key, ObjectInfo.from_headers(resp.headers), resp)

    def _length(self) -> int:
        return self.info.size

    def read(self, size: int = -1) -> bytes:
        """The response's own bytes: RawIOBase.read would copy them twice more (readinto, then slice)."""
        self._check_open()
        if size is None or size < 0:
            return self.readall()
        if self._pos >= self.info.size or size == 0:
            return b""
        with s3_errors():
            # The stored bytes, never decoded: a Content-Encoding: gzip object reads as its gzip bytes,
            # so sizes, positions and ranged reads agree.
            data = self._stream().read(size, decode_content=False)
        self._pos += len(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file")

    def _stream(self):
        """The GET from the current position, opened on first use (inside s3_errors)."""
        if self._resp is None:
            self._resp = pinned_get(self._client, self._bucket, self._key, self.info.etag or None, offset=self._pos)
        return self._resp

    def readall(self) -> bytes:
        out = bytearray()
        while chunk := self.read(CHUNK):
            out += chunk
        return bytes(out)

    def _drop(self) -> None:
        if self._resp is not None:
            self._resp.close()
            self._resp.release_conn()
            self._resp = None

    def close(self) -> None:
        self._drop()
        super().close()
