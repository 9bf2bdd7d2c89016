"""``vfs_s3.storage.S3Storage``: a Django storage backend on S3, usable from ``STORAGES``.

    STORAGES = {"default": {"BACKEND": "vfs_s3.storage.S3Storage",
                            "OPTIONS": {"url": "s3://...", "bucket": "media"}}}

Writes stream with MD5 verification (see :mod:`vfs_s3.writer`), reads stream
and seek with ranged GETs (see :mod:`vfs_s3.reader`). Errors never carry a
bucket, key, credential or signed URL.
"""

from __future__ import annotations

import builtins
import contextlib
import itertools
import mimetypes
import posixpath
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.core.files.base import File
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from minio import Minio
from minio.commonconfig import REPLACE, ComposeSource, CopySource
from storages.base import BaseStorage
from storages.utils import clean_name, get_available_overwrite_name, safe_join

from s3util import DeleteError, S3Config, bucket_name, delete_objects, ensure_bucket, make_client
from s3util.errors import TRANSPORT_ERRORS, is_not_found, wrap_not_found
from s3util.naming import is_valid_bucket_name
from vfs_s3.bodies import Body, TimedHead, chunks_of
from vfs_s3.connection import client_for, config_for, current_url
from vfs_s3.errors import s3_errors
from vfs_s3.reader import CHUNK, ObjectInfo, OpenBody, S3RawReader, iter_range, open_body, stat
from vfs_s3.uploads import abort_uploads
from vfs_s3.writer import (
    COPY_LIMIT,
    MAX_PARTS,
    MD5_META,
    MIN_PART_SIZE,
    SINGLE_PUT_LIMIT,
    S3Writer,
    WriteOptions,
    WriteResult,
    normalize_md5,
    object_headers,
    put_streamed,
)

# django-storages' object parameter names -> the HTTP headers they set.
_OBJECT_PARAM_HEADERS = {
    "CacheControl": "Cache-Control",
    "ContentDisposition": "Content-Disposition",
    "ContentEncoding": "Content-Encoding",
    "ContentLanguage": "Content-Language",
    "Expires": "Expires",
}


class S3File(File):
    """A file opened from S3: ``rb`` streams, ``wb`` uploads on close."""

    def __init__(self, name: str, mode: str, storage: S3Storage, *, raw: S3RawReader | None = None,
                 writer: S3Writer | None = None):
        self._storage, self._mode, self._writer = storage, mode, writer
        super().__init__(raw, name)  # type: ignore[arg-type]  # a RawIOBase, as File wraps any stream
        self.result: WriteResult | None = None

    @property
    def size(self) -> int:
        if self.file is not None:
            return cast(S3RawReader, self.file).info.size
        return self._writer._size if self._writer else 0

    @property
    def mode(self) -> str:  # type: ignore[override]  # File sets it; here it is fixed at open
        return self._mode

    def write(self, data: bytes) -> int:  # type: ignore[override]  # bytes only
        if self._writer is None:
            raise OSError("file not opened for writing")
        return self._writer.write(data)

    def chunks(self, chunk_size: int | None = None):
        if self.file is None:
            raise OSError("file not opened for reading")
        self.file.seek(0)
        while data := self.file.read(chunk_size or CHUNK):
            yield data

    @property
    def closed(self) -> bool:
        if self._writer is not None:
            return self._writer._closed
        return self.file is None or self.file.closed

    def close(self) -> None:
        if self._writer is not None:
            self.result = self._writer.close()
        elif self.file is not None:
            self.file.close()

    def abort(self) -> None:
        """Drop what was written: no object appears."""
        if self._writer is not None:
            self._writer.abort()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and self._writer is not None:
            self.abort()  # an error inside ``with storage.open(name, "wb")``: keep nothing half-written
        else:
            self.close()

    def open(self, mode: str | None = None) -> S3File:  # type: ignore[override]  # rb only
        """Reopen from S3 (Django's File.open would look at the local disk)."""
        mode = mode or self._mode
        if mode != "rb" or self._writer is not None:
            raise ValueError("only a file opened for reading can be reopened, in rb mode")
        if self.closed:
            self.file = self._storage._open(self.name or "", "rb").file
        elif self.file is not None:
            self.file.seek(0)
        return self


@dataclass(frozen=True)
class Listed:
    """One listed object; ``name`` is relative to the storage's location."""

    name: str
    size: int
    etag: str
    last_modified: datetime | None


class KeyOutsidePrefix(OSError):
    """The store listed a key outside the prefix asked for: nothing of it is used."""


@deconstructible
class S3Storage(BaseStorage):
    """Streaming storage on S3-compatible object storage (minio SDK)."""

    location: str

    def get_default_settings(self) -> dict[str, Any]:
        return {
            "bucket": None,  # default: <bucket_prefix>-default
            "location": "",
            "public_url": None,
            "multipart_threshold": 8 * 1024 * 1024,
            "part_size": 8 * 1024 * 1024,
            "parallel_parts": 4,
            "part_checksums": None,  # None: on, except plain HTTP to this machine (see sends_part_checksums)
            "stream_limit": SINGLE_PUT_LIMIT,  # see streams(); 0: never stream a single PUT
            "stream_min_rate": 32 * 1024 * 1024,  # bytes/s; see put()
            "copy_part_size": COPY_LIMIT,  # see copy()
            "object_parameters": {},
            "querystring_auth": True,
            "querystring_expire": 3600,
            "file_overwrite": True,
            "auto_create_bucket": False,
        }

    def __init__(self, url: str | None = None, **options: Any):
        # "url" is an option here, but Storage.url() is a method: keep it as fs_url.
        self.fs_url = url  # default: settings.COZY_FS_URL, read at use time
        super().__init__(**options)
        try:
            self.write_options = WriteOptions(self.multipart_threshold, self.part_size, self.parallel_parts)
        except ValueError as err:
            raise ImproperlyConfigured(f"S3Storage: {err}") from None
        if not 0 <= self.stream_limit <= SINGLE_PUT_LIMIT:
            raise ImproperlyConfigured("S3Storage: stream_limit must be between 0 and 5 GiB")
        if not MIN_PART_SIZE <= self.copy_part_size <= COPY_LIMIT:
            raise ImproperlyConfigured("S3Storage: copy_part_size must be between 5 MiB and 5 GiB")
        if self.public_url and urlsplit(self.public_url).path.strip("/"):
            raise ImproperlyConfigured("S3Storage: public_url must be a scheme and host (and port), with no path")
        if self.bucket and not is_valid_bucket_name(self.bucket):
            raise ImproperlyConfigured("S3Storage: bucket is not a valid S3 bucket name")
        unknown = set(self.object_parameters) - set(_OBJECT_PARAM_HEADERS) - {"ContentType", "Metadata"}
        if unknown:
            raise ImproperlyConfigured(f"S3Storage: unknown object parameter {sorted(unknown)[0]!r}")
        self.location = clean_name(self.location or "").strip("/")
        self._bucket_checked: tuple[str, str] | None = None  # (endpoint, bucket) last ensured

    def with_options(self, **options: Any) -> S3Storage:
        """This store (its bucket, location and connection) with some options changed: the part
        size and parallel parts of a job that must bound its memory, say."""
        current = {name: getattr(self, name) for name in self.get_default_settings()}
        return S3Storage(self.fs_url, **{**current, **options})

    # -- connection --------------------------------------------------------
    @property
    def config(self) -> S3Config:
        return config_for(self.fs_url or current_url())

    @property
    def client(self) -> Minio:
        return client_for(self.fs_url or current_url())

    @property
    def sends_part_checksums(self) -> bool:
        """Whether each multipart part carries its own Content-MD5.

        Over HTTPS nothing else checks a part's bytes (the SDK sends UNSIGNED-PAYLOAD),
        and over plain HTTP the signed SHA-256 is not checked by every server
        (SeaweedFS accepts a wrong one; it does check Content-MD5). Only on loopback,
        where no wire can damage the bytes, is the extra MD5 pass skipped by default.
        """
        if self.part_checksums is not None:
            return bool(self.part_checksums)
        return not self.config.plain_loopback

    @property
    def bucket_name(self) -> str:
        return self.bucket or bucket_name(self.config.bucket_prefix, None)

    def _key(self, name: str) -> str:
        if not isinstance(name, str) or "\x00" in name:
            raise SuspiciousOperation("invalid file name")
        if name.startswith("/") or ".." in name.replace("\\", "/").split("/"):
            raise SuspiciousOperation("file name escapes the storage location")
        try:
            return safe_join(self.location, clean_name(name)).lstrip("/")
        except ValueError:
            raise SuspiciousOperation("file name escapes the storage location") from None

    def _ensure_bucket(self) -> None:
        # Keyed by endpoint and bucket: without a url option they follow COZY_FS_URL, which may change.
        target = (self.config.endpoint, self.bucket_name)
        if self.auto_create_bucket and self._bucket_checked != target:
            with s3_errors():
                ensure_bucket(self.client, self.bucket_name, self.config.region)
            self._bucket_checked = target

    # -- writing -------------------------------------------------------------
    def _object_args(self, name: str, content_type: str | None, metadata: dict[str, str] | None) -> dict[str, Any]:
        self._ensure_bucket()
        params = self.object_parameters
        return {
            "client": self.client,
            "bucket": self.bucket_name,
            "key": self._key(name),
            "content_type": content_type or params.get("ContentType") or _guess_type(name),
            "metadata": {**params.get("Metadata", {}), **(metadata or {})},
            "headers": {h: params[p] for p, h in _OBJECT_PARAM_HEADERS.items() if p in params},
        }

    def writer(self, name: str, *, content_type: str | None = None, expected_md5: str | None = None,
               metadata: dict[str, str] | None = None) -> S3Writer:
        """A push-style writer for ``name``; ``close()`` commits, ``abort()`` discards."""
        return S3Writer(
            **self._object_args(name, content_type, metadata),
            expected_md5=expected_md5,
            part_checksums=self.sends_part_checksums,
            options=self.write_options,
        )

    def streams(self, length: int | None, expected_md5: str | None) -> bool:
        """Whether ``put_streamed`` takes this content: its length and MD5 are known up front,
        and it is past the multipart threshold (smaller content is buffered, hashed here, and
        sent as one PUT that urllib3 can retry) and within ``stream_limit``."""
        return bool(expected_md5) and length is not None and self.multipart_threshold < length <= self.stream_limit

    def put_streamed(self, name: str, chunks: Iterable[bytes], length: int, expected_md5: str, *,
                     content_type: str | None = None, metadata: dict[str, str] | None = None) -> WriteResult:
        """Store ``length`` bytes from ``chunks`` in one PUT that the store checks against
        ``expected_md5`` (see vfs_s3.writer.put_streamed); ChecksumMismatch when they differ."""
        return put_streamed(chunks=chunks, length=length, md5=expected_md5,
                            **self._object_args(name, content_type, metadata))

    def copy(self, source: str, target: str, *, md5: str, content_type: str) -> None:
        """A server-side copy of ``source`` to ``target`` (no bytes pass through here). The copy
        gets the MD5 user metadata and the object parameters as any write does.

        One CopyObject up to ``copy_part_size``; a larger object (S3 refuses CopyObject past
        5 GiB) is copied by a multipart upload of UploadPartCopy ranges of that size. On any
        failure the upload is aborted (by the SDK) and a target the store may have completed
        anyway is removed: the caller is told nothing was copied.
        """
        args = self._object_args(target, content_type, {MD5_META: normalize_md5(md5) or ""})
        headers = object_headers(args["content_type"], args["metadata"], args["headers"])
        bucket, key = self.bucket_name, self._key(source)
        with s3_errors():
            size = self.client.stat_object(bucket, key).size or 0
        if size <= self.copy_part_size:
            with s3_errors():
                self.client.copy_object(bucket, args["key"], CopySource(bucket, key), metadata=headers,
                                        metadata_directive=REPLACE)
            return
        step = max(self.copy_part_size, -(-size // MAX_PARTS))  # S3 takes at most 10,000 parts
        parts = [ComposeSource(bucket, key, offset=at, length=min(step, size - at)) for at in range(0, size, step)]
        with self._discarded_on_failure(target), s3_errors():
            self.client.compose_object(bucket, args["key"], parts, metadata=headers)

    def put(self, name: str, body: Body, *, length: int | None = None, expected_md5: str | None = None,
            content_type: str | None = None, metadata: dict[str, str] | None = None) -> WriteResult:
        """Store ``body`` (bytes, a file-like object or an iterable of bytes) at ``name``: the one
        write entry point, which picks the way itself.

        A body of known ``length`` past the multipart threshold, with ``expected_md5``, whose
        first part arrived at ``stream_min_rate`` or faster, goes as one streamed PUT that the
        store checks. A slower client could pause past the store's idle timeout in the middle
        of such a PUT, so it goes through the writer (one PUT when small, multipart otherwise),
        whose parts survive pauses and are retried. ChecksumMismatch when the bytes differ from
        ``expected_md5``; OSError (sanitized) when the store fails. Either way nothing is stored.
        """
        chunks: Iterator[bytes] = chunks_of(body, self.part_size)
        if self.streams(length, expected_md5):
            chunks = timed = TimedHead(chunks, self.multipart_threshold)
            if timed.rate >= self.stream_min_rate and length is not None and expected_md5:
                with self._discarded_on_failure(name):
                    return self.put_streamed(name, chunks, length, expected_md5, content_type=content_type,
                                             metadata=metadata)  # fmt: skip
        writer = self.writer(name, content_type=content_type, expected_md5=expected_md5, metadata=metadata)
        try:
            for data in chunks:
                writer.write(data)
        except BaseException:
            writer.abort()
            raise
        with self._discarded_on_failure(name):
            return writer.close()

    @contextlib.contextmanager
    def _discarded_on_failure(self, name: str) -> Iterator[None]:
        """A PUT or a completion whose answer was lost may have stored the object anyway:
        remove it, since the caller is told the write failed."""
        try:
            yield
        except OSError:
            with contextlib.suppress(OSError):
                self.delete(name)
            raise

    def save(self, name: str | None, content: Any, max_length: int | None = None, *,
             expected_md5: str | None = None) -> str:
        """Django's save, plus ``expected_md5`` (hex or base64): a mismatch raises ChecksumMismatch."""
        if expected_md5 is not None:
            normalize_md5(expected_md5)  # fail early on a malformed value
            content = content if isinstance(content, File) else File(content, name)
            content.content_md5 = expected_md5
        return super().save(name, content, max_length)

    def _save(self, name: str, content: File) -> str:
        writer = self.writer(
            name,
            content_type=getattr(content, "content_type", None),
            expected_md5=getattr(content, "content_md5", None),
        )
        try:
            _rewind(content)
            while data := content.read(self.part_size):
                writer.write(data.encode() if isinstance(data, str) else data)  # text content: UTF-8, as on disk
            writer.close()
        except BaseException:
            writer.abort()
            raise
        return name

    # -- reading -------------------------------------------------------------
    def _open(self, name: str, mode: str = "rb") -> S3File:
        if mode == "wb":
            return S3File(name, mode, self, writer=self.writer(name))
        if mode != "rb":  # text modes would hand out bytes where str is expected: refuse them
            raise ValueError(f"unsupported mode {mode!r}: use rb or wb")
        key = self._key(name)
        return S3File(name, mode, self, raw=S3RawReader.open_object(self.client, self.bucket_name, key))

    def info(self, name: str) -> ObjectInfo:
        return stat(self.client, self.bucket_name, self._key(name))

    def read(self, name: str, start: int = 0, end: int | None = None, *, etag: str | None = None,
             chunk_size: int | Callable[[], int] = CHUNK) -> Iterator[bytes]:
        """The one read entry point: bytes ``start..end`` (inclusive; None: to the end) in chunks,
        with no HEAD first. ``etag`` pins the read to that version of the object (ObjectChanged
        otherwise). FileNotFoundError when the object is missing, at the first chunk."""
        return iter_range(self.client, self.bucket_name, self._key(name), start, end, chunk_size, etag)

    def open_body(self, name: str, start: int = 0, end: int | None = None, *,
                  etag: str | None = None) -> OpenBody:
        """The bytes ``start..end`` as one open GET, for a caller that relays them itself (see
        OpenBody); as ``read`` otherwise. The caller closes it."""
        return open_body(self.client, self.bucket_name, self._key(name), start, end, etag)

    def list(self, prefix: str = "", *, recursive: bool = True, start_after: str | None = None) -> Iterator[Listed]:
        """Objects whose name starts with ``prefix``, in the store's (byte) order; with
        ``recursive=False``, sub-folders come too, as names ending in "/" with size 0 (after
        the objects of each page, on most stores)."""
        base = self._key(prefix) if prefix else (self.location + "/" if self.location else "")
        if prefix.endswith("/") and not base.endswith("/"):
            base += "/"
        after = self._key(start_after) if start_after else None
        with s3_errors():
            for obj in self.client.list_objects(self.bucket_name, prefix=base, recursive=recursive,
                                                start_after=after):  # fmt: skip
                if not obj.object_name.startswith(base):
                    raise KeyOutsidePrefix("the store listed a key outside the prefix asked for")
                yield Listed(self._name(obj.object_name), obj.size or 0, (obj.etag or "").strip('"'),
                             obj.last_modified)

    def list_pages(self, prefix: str, page_size: int = 1000) -> Iterator[builtins.list[Listed]]:
        listing = self.list(prefix)
        while page := list(itertools.islice(listing, page_size)):
            yield page

    def delete_many(self, names: Iterable[str]) -> int:
        """Delete ``names`` in requests of at most 1000 keys; DeleteError (codes only) if any failed."""
        try:
            with s3_errors():
                return delete_objects(self.client, self.bucket_name, (self._key(n) for n in names))
        except DeleteError as err:  # the failed names, as the caller gave them
            raise DeleteError([(self._name(key), code) for key, code in err.failures]) from None

    def _name(self, key: str) -> str:
        """A key's name relative to the location."""
        return key[len(self.location) + 1 :] if self.location else key

    def abort_uploads(self, prefix: str) -> int:
        """Abort the unfinished multipart uploads under ``prefix`` (a folder, ending in "/")."""
        base = self._key(prefix) if prefix else self.location
        return abort_uploads(self.client, self.bucket_name, base.rstrip("/") + "/" if base else "")

    def ensure_bucket(self) -> bool:
        """Create the bucket (idempotently, with the abort-incomplete-uploads rule)."""
        with s3_errors():
            return ensure_bucket(self.client, self.bucket_name, self.config.region)

    # -- the rest of the contract -------------------------------------------
    def delete(self, name: str) -> None:
        if not name:
            raise ValueError("the name must be given")
        with s3_errors():
            self.client.remove_object(self.bucket_name, self._key(name))

    def exists(self, name: str) -> bool:
        """True or False; an outage raises instead of answering False."""
        if not name:
            return True  # the root of the location always "exists"
        key = self._key(name)
        try:
            self.client.stat_object(self.bucket_name, key)
            return True
        except TRANSPORT_ERRORS as err:
            if is_not_found(err):
                return False
            raise wrap_not_found(err) from None

    def size(self, name: str) -> int:
        return self.info(name).size

    def listdir(self, path: str) -> tuple[builtins.list[str], builtins.list[str]]:
        prefix = self._key(path) if path else self.location
        prefix = prefix.rstrip("/") + "/" if prefix else ""
        dirs, files = [], []
        with s3_errors():
            for obj in self.client.list_objects(self.bucket_name, prefix=prefix, recursive=False):
                rest = obj.object_name[len(prefix):]
                if obj.is_dir:
                    dirs.append(rest.rstrip("/"))
                elif rest:
                    files.append(rest)
        return dirs, files

    def get_modified_time(self, name: str):
        modified = self.info(name).last_modified
        return modified if settings.USE_TZ else timezone.make_naive(modified)

    def get_created_time(self, name: str):
        # Objects are immutable: the last write is their creation.
        return self.get_modified_time(name)

    def get_accessed_time(self, name: str):
        raise NotImplementedError("S3 keeps no access time")

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        name = clean_name(name)
        if self.file_overwrite:
            return get_available_overwrite_name(name, max_length)
        return super().get_available_name(name, max_length)

    def url(self, name: str, expire: int | None = None) -> str:
        key = self._key(name)
        if not self.querystring_auth:
            return f"{self._public_base()}/{self.bucket_name}/{quote(key)}"
        expires = timedelta(seconds=expire or self.querystring_expire)
        with s3_errors():
            return self._signing_client().presigned_get_object(self.bucket_name, key, expires=expires)

    def _public_base(self) -> str:
        return (self.public_url or self.config.endpoint_url).rstrip("/")

    def _signing_client(self) -> Minio:
        """Signed URLs are bound to a host: sign for ``public_url`` when one is set."""
        if not self.public_url:
            return self.client
        parts = urlsplit(self.public_url)
        return make_client(S3Config(
            host=parts.hostname or "", port=parts.port, access_key=self.config.access_key,
            secret_key=self.config.secret_key, region=self.config.region,
            use_ssl=parts.scheme == "https", path_style=self.config.path_style,
        ))


def _guess_type(name: str) -> str:
    return mimetypes.guess_type(posixpath.basename(name))[0] or "application/octet-stream"


def _rewind(content: Any) -> None:
    """Start from the beginning when the content can seek; a bare reader cannot, and need not."""
    try:
        if content.seekable():
            content.seek(0)
    except (AttributeError, OSError, ValueError):
        pass
