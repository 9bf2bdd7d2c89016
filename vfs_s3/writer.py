"""Streaming writes with MD5 verification.

Bytes are hashed as they pass. Up to ``threshold`` bytes are kept and sent as
one PUT carrying Content-MD5; past that the object goes multipart with at most
``parallel_parts`` parts in flight, so memory stays under
``(parallel_parts + 1) * part_size`` whatever the size. Written ``bytes`` are
kept as they are (a part made of one whole chunk is sent without a copy); other
buffers are copied once, since the caller may reuse them. When the caller gives
an expected MD5 and the content differs, the upload is aborted before it is
completed: no object appears and no incomplete upload is left.

Multipart calls use the minio SDK's internal methods (``_create_multipart_upload``
and friends): its public ``put_object`` can neither check a checksum before
completing nor push parts from a writer. minio is pinned for that reason.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

from minio import Minio
from minio.commonconfig import REPLACE, CopySource
from minio.datatypes import Part
from minio.error import S3Error

from s3util.client import StreamedBody
from vfs_s3.errors import ChecksumMismatch, ObjectTooLarge, s3_errors

MD5_META = "md5"  # user metadata key (x-amz-meta-md5): hex MD5 of the content
MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB  # S3's floor for every part but the last
MAX_PARTS = 10_000
COPY_LIMIT = 5 * 1024 * MiB  # larger objects cannot be copied in one request
SINGLE_PUT_LIMIT = 5 * 1024 * MiB  # S3's largest single PUT
DIGEST_ERRORS = {"BadDigest", "InvalidDigest"}  # the store refused a Content-MD5
_PLAIN_MD5 = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class WriteOptions:
    threshold: int = 8 * MiB
    part_size: int = 8 * MiB
    parallel_parts: int = 4

    def __post_init__(self) -> None:
        if self.part_size < MIN_PART_SIZE:
            raise ValueError("part_size must be at least 5 MiB")
        if self.threshold < 0 or self.parallel_parts < 1:
            raise ValueError("threshold must be >= 0 and parallel_parts >= 1")


@dataclass(frozen=True)
class WriteResult:
    size: int
    md5: str  # hex
    etag: str


def normalize_md5(value: str | bytes | bytearray | None) -> str | None:
    """Accept hex, base64 or raw digest bytes; return lowercase hex."""
    if value is None or value == "":
        return None
    if isinstance(value, (bytes, bytearray)) and len(value) == 16:
        return value.hex()
    text = (value.decode() if isinstance(value, (bytes, bytearray)) else value).strip()  # encodebytes ends in \n
    if len(text) == 32:
        try:
            bytes.fromhex(text)
            return text.lower()
        except ValueError:
            pass
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise ValueError("expected MD5 is neither hex nor base64") from None
    if len(raw) != 16:
        raise ValueError("expected MD5 does not have 16 bytes")
    return raw.hex()


def content_md5(md5_hex: str) -> str:
    """The Content-MD5 header value (base64 of the digest) of a hex MD5."""
    return base64.b64encode(bytes.fromhex(md5_hex)).decode()


# The SDK's header type (values may be lists); what cozy sends is always str.
Headers = dict[str, Any]


def object_headers(content_type: str, metadata: dict[str, str], extra: dict[str, str]) -> Headers:
    headers = {"Content-Type": content_type, **extra}
    for key, value in metadata.items():
        headers[f"x-amz-meta-{key}"] = value
    return headers


class PendingBytes:
    """Written bytes not yet sent, as a queue of chunks: no growing buffer to copy."""

    def __init__(self) -> None:
        self._chunks: deque[bytes | memoryview] = deque()
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(self, data: bytes | bytearray | memoryview) -> None:
        chunk = data if type(data) is bytes else bytes(data)  # the caller may reuse a mutable buffer
        if chunk:
            self._chunks.append(chunk)
            self.size += len(chunk)

    def take(self, n: int) -> bytes | bytearray:
        """The first ``n`` bytes (or all if fewer), as one buffer. Chunks are copied into it one
        by one and dropped as they are: a part is held once, not as chunks and their join."""
        n = min(n, self.size)
        if n == 0:
            return b""
        first = self._chunks[0]
        if len(first) == n and type(first) is bytes:
            self._chunks.popleft()
            self.size -= n
            return first  # a whole chunk: no copy
        out = bytearray(n)
        filled = 0
        while filled < n:
            chunk = self._chunks.popleft()
            if len(chunk) > n - filled:
                view = memoryview(chunk)
                chunk, rest = view[: n - filled], view[n - filled :]
                self._chunks.appendleft(rest)
            out[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
            del chunk
        self.size -= n
        return out

    def clear(self) -> None:
        self._chunks.clear()
        self.size = 0


@dataclass
class S3Writer:
    """Push bytes with ``write``; ``close`` commits, ``abort`` discards.

    Content that ends within the threshold goes as one PUT, whether or not its
    length was known up front.
    """

    client: Minio
    bucket: str
    key: str
    content_type: str = "application/octet-stream"
    metadata: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    expected_md5: str | None = None
    # Content-MD5 on each part, so the server refuses a part damaged on the way (S3Storage decides).
    part_checksums: bool = True
    options: WriteOptions = field(default_factory=WriteOptions)
    result: WriteResult | None = None
    _hash: hashlib._Hash = field(default_factory=hashlib.md5)
    _pending: PendingBytes = field(default_factory=PendingBytes)
    _size: int = 0
    _upload_id: str | None = None
    _parts: list[Part] = field(default_factory=list)
    _inflight: deque[Future] = field(default_factory=deque)
    _pool: ThreadPoolExecutor | None = None
    _closed: bool = False

    def __post_init__(self) -> None:
        self.expected_md5 = normalize_md5(self.expected_md5)

    # -- writing ---------------------------------------------------------
    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._closed:
            raise ValueError("write to a closed S3 writer")
        self._hash.update(data)
        self._size += len(data)
        self._pending.add(data)
        try:
            if self._upload_id is None and len(self._pending) > self.options.threshold:
                self._start_multipart()
            while self._upload_id is not None and len(self._pending) >= self.options.part_size:
                self._wait_for_slot()  # before taking the part: no extra part held while waiting
                self._send_part(self._pending.take(self.options.part_size))
        except BaseException:
            self.abort()
            raise
        return len(data)

    def _start_multipart(self) -> None:
        meta = dict(self.metadata)
        if self.expected_md5:
            meta[MD5_META] = self.expected_md5
        with s3_errors():
            self._upload_id = self.client._create_multipart_upload(
                self.bucket, self.key, object_headers(self.content_type, meta, self.headers)
            )
        self._pool = ThreadPoolExecutor(self.options.parallel_parts, thread_name_prefix="s3-part")

    def _send_part(self, data: bytes | bytearray) -> None:
        number = len(self._parts) + len(self._inflight) + 1
        if number > MAX_PARTS:
            raise ObjectTooLarge("object too large for its part size")
        self._wait_for_slot()
        assert self._pool is not None
        self._inflight.append(self._pool.submit(self._upload_part, number, data))

    def _wait_for_slot(self) -> None:
        while len(self._inflight) >= self.options.parallel_parts:
            self._parts.append(self._inflight.popleft().result())

    def _upload_part(self, number: int, data: bytes | bytearray) -> Part:
        headers: Headers = {}
        if self.part_checksums:
            headers["Content-MD5"] = base64.b64encode(hashlib.md5(data).digest()).decode()  # noqa: S324
        with s3_errors():
            etag = self.client._upload_part(
                # a bytearray as well: minio only measures, hashes and sends the body
                self.bucket, self.key, cast(bytes, data), headers, self._upload_id or "", number
            )
        return Part(number, etag)

    # -- finishing -------------------------------------------------------
    def close(self) -> WriteResult:
        """Verify the MD5 and complete the object. Idempotent."""
        if self.result is not None:
            return self.result
        if self._closed:
            raise ValueError("this S3 writer was aborted")
        try:
            md5 = self._hash.hexdigest()
            if self._upload_id is None:
                self._check(md5)
                self.result = self._put_single(md5)
            else:
                self.result = self._complete(md5)
        except BaseException:
            self.abort()
            raise
        self._closed = True
        return self.result

    def _check(self, md5: str) -> None:
        if self.expected_md5 and md5 != self.expected_md5:
            raise ChecksumMismatch("content MD5 differs from the expected one")

    def _put_single(self, md5: str) -> WriteResult:
        data = self._pending.take(len(self._pending))
        extra = {**self.headers, "Content-MD5": content_md5(md5)}
        headers = object_headers(self.content_type, {**self.metadata, MD5_META: md5}, extra)
        with s3_errors():
            res = self.client._put_object(self.bucket, self.key, cast(bytes, data), headers)
        return WriteResult(len(data), md5, res.etag or "")

    def _complete(self, md5: str) -> WriteResult:
        if self._pending or not (self._parts or self._inflight):
            self._send_part(self._pending.take(len(self._pending)))
        while self._inflight:
            self._parts.append(self._inflight.popleft().result())
        # The checksum is checked here, before completion: an abort then leaves nothing.
        self._check(md5)
        with s3_errors():
            res = self.client._complete_multipart_upload(
                self.bucket, self.key, self._upload_id or "", self._parts
            )
        self._upload_id = None
        self._shutdown()
        etag = res.etag or ""
        if not self.expected_md5:
            try:
                etag = self._store_md5(md5) or etag
            except OSError:
                self._remove_completed()  # the caller is told it failed: leave no object behind
                raise
        return WriteResult(self._size, md5, etag or self._head_etag())

    def _head_etag(self) -> str:
        """The stored object's ETag, asked with a HEAD: Ceph Pacific completes with an empty one.

        The object is complete by then: a failed HEAD leaves the ETag empty rather than fail the write.
        """
        try:
            with s3_errors():
                return self.client.stat_object(self.bucket, self.key).etag or ""
        except OSError:
            return ""

    def _remove_completed(self) -> None:
        try:
            with s3_errors():
                self.client.remove_object(self.bucket, self.key)
        except OSError:
            pass  # fsck reports an object nothing references

    def _store_md5(self, md5: str) -> str | None:
        """Metadata is fixed when a multipart upload starts: copy in place to add the MD5.

        Returns the new ETag. Objects over 5 GiB cannot be copied in one request:
        for them the index is the only record of the MD5 (documented).
        """
        if self._size > COPY_LIMIT:
            return None
        meta = {**self.metadata, MD5_META: md5}
        # The SDK sends only Cache-Control and Content-* as headers on a copy (anything else would become
        # x-amz-meta-*): a multipart object saved without an expected MD5 loses Expires (documented).
        extra = {k: v for k, v in self.headers.items() if k.lower().startswith(("cache-", "content-"))}
        with s3_errors():
            return self.client.copy_object(
                self.bucket,
                self.key,
                CopySource(self.bucket, self.key),
                metadata={"Content-Type": self.content_type, **extra, **meta},
                metadata_directive=REPLACE,
            ).etag

    def abort(self) -> None:
        """Discard everything written; safe to call more than once."""
        self._closed = True
        self._pending.clear()
        for fut in self._inflight:
            fut.cancel()
        for fut in self._inflight:
            try:
                fut.result()
            except BaseException:  # noqa: BLE001, S110 - aborting anyway
                pass
        self._inflight.clear()
        self._shutdown()
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is not None:
            try:
                with s3_errors():
                    self.client._abort_multipart_upload(self.bucket, self.key, upload_id)
            except OSError:
                pass  # the bucket's abort-incomplete-uploads rule and fsck cover this

    def _shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> S3Writer:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def put_streamed(client: Minio, bucket: str, key: str, chunks: Iterable[bytes], length: int, md5: str, *,
                 content_type: str, metadata: dict[str, str], headers: dict[str, str]) -> WriteResult:
    """One PUT of ``length`` bytes read from ``chunks`` as they are sent; the store checks ``md5``.

    With Content-MD5 the store itself refuses an object whose bytes differ, so
    nothing is stored on a mismatch (AWS, MinIO, Ceph and SeaweedFS check it),
    and this process need not hash the body: that MD5 pass was about half of
    cozy's CPU on a large upload. A store that ignored Content-MD5 would still
    give the MD5 of what it stored as the ETag of a single PUT: that is compared
    too, unless the object is encrypted (its ETag is then no MD5). Memory: one
    chunk. An error raised by ``chunks`` (the client went away) cuts the request
    short, and the store keeps nothing of it.
    """
    md5 = normalize_md5(md5) or ""
    extra = {**headers, "Content-MD5": content_md5(md5)}
    body = StreamedBody(chunks, length)
    with s3_errors():
        try:
            res = client._put_object(bucket, key, body,  # type: ignore[arg-type]  # the SDK sends any sized body
                                     object_headers(content_type, {**metadata, MD5_META: md5}, extra))
        except S3Error as err:
            if err.code in DIGEST_ERRORS:
                raise ChecksumMismatch("content MD5 differs from the expected one") from None
            raise
    etag = (res.etag or "").lower()
    encrypted = any(name.lower().startswith("x-amz-server-side-encryption") for name in res.http_headers)
    if not encrypted and _PLAIN_MD5.fullmatch(etag) and etag != md5:
        with contextlib.suppress(OSError), s3_errors():  # if this fails, fsck reports the unreferenced object
            client.remove_object(bucket, key)
        raise ChecksumMismatch("the stored content's MD5 differs from the expected one")
    return WriteResult(length, md5, res.etag or "")
