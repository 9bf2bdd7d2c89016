"""Store one tarball entry in a release's area: brotli-compressed unless its type already is.

Entries up to ``BUFFERED`` bytes are read and compressed in memory, then sent
as one PUT with their length and MD5 (the store checks it), a few at a time
while the tarball is read on (a bounded number of bytes held). Larger entries
stream through a brotli compressor into the store's writer, so memory stays
bounded whatever their size. Metadata carries the original length (and the
original MD5 when it is known before the upload starts); the release's file
rows hold both in any case.
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import posixpath
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import brotli
from django.conf import settings

from cozy.apps.tarball import Entry
from vfs_s3.storage import S3Storage

BUFFERED = 8 * 1024 * 1024
CHUNK = 1024 * 1024
# Already compressed: brotli would spend CPU to win nothing.
COMPRESSED = frozenset("""
png jpg jpeg gif webp avif heic ico woff woff2 zip gz tgz br bz2 xz zst 7z rar mp3 mp4 m4a m4v webm ogg ogv
opus flac mov avi mkv pdf jar apk
""".split())


@dataclass(frozen=True)
class StoredFile:
    path: str
    size: int
    md5: str
    encoding: str  # "br" or ""
    stored_size: int
    mime: str


def mime_of(path: str) -> str:
    mime = mimetypes.guess_type(posixpath.basename(path))[0] or "application/octet-stream"
    if mime.startswith("text/") or mime in ("application/javascript", "application/json", "image/svg+xml"):
        return f"{mime}; charset=utf-8" if "charset" not in mime else mime
    return mime


def worth_compressing(path: str) -> bool:
    return posixpath.splitext(path)[1].lower().lstrip(".") not in COMPRESSED


def brotli_quality() -> int:
    return int(getattr(settings, "COZY_APPS_BROTLI_QUALITY", 5))


class Uploads:
    """Entries up to BUFFERED bytes are compressed and PUT by a few threads while the tarball
    is read on; at most ``max_bytes`` of them are held at once. Every stored file is appended
    to ``stored``, also when another fails (so the caller can delete them all)."""

    def __init__(self, store: S3Storage, stored: list[StoredFile], workers: int = 6, max_bytes: int = 48 * 2**20):
        self.store, self.stored, self.workers, self.max_bytes = store, stored, workers, max_bytes
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="app-put")
        self.pending: deque[tuple[Future[StoredFile], int]] = deque()
        self.held = 0

    def store_entry(self, name: str, entry: Entry) -> bytes | None:
        """Store ``entry`` at ``name``; its bytes when it was small enough to buffer."""
        mime = mime_of(entry.path)
        if entry.size > BUFFERED:
            self.stored.append(_put_streamed(self.store, name, entry, mime))
            return None
        data = entry.reader.read()
        if len(data) != entry.size:
            raise OSError("the tarball ended inside an entry")
        while self.pending and (len(self.pending) >= 2 * self.workers or self.held + len(data) > self.max_bytes):
            self._settle()
        self.pending.append((self.pool.submit(_put_buffered, self.store, name, entry.path, data, mime), len(data)))
        self.held += len(data)
        return data

    def _settle(self) -> None:
        future, size = self.pending.popleft()
        self.held -= size
        self.stored.append(future.result())

    def finish(self) -> None:
        while self.pending:
            self._settle()

    def __enter__(self) -> Uploads:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:  # keep what did get stored on the list, for the caller to delete
            for future, _ in self.pending:
                with contextlib.suppress(BaseException):
                    self.stored.append(future.result())
            self.pending.clear()
        self.pool.shutdown(wait=True)


def _put_buffered(store: S3Storage, name: str, path: str, data: bytes, mime: str) -> StoredFile:
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    body, encoding = data, ""
    if worth_compressing(path) and data:
        packed = brotli.compress(data, quality=brotli_quality())
        if len(packed) < len(data) * 0.95:  # too small a gain is not worth decompressing for
            body, encoding = packed, "br"
    meta = {"original-length": str(len(data)), "original-md5": md5, "encoding": encoding or "identity"}
    stored_md5 = md5 if body is data else hashlib.md5(body, usedforsecurity=False).hexdigest()
    store.put(name, body, length=len(body), expected_md5=stored_md5, content_type=mime, metadata=meta)
    return StoredFile(path, len(data), md5, encoding, len(body), mime)


def _put_streamed(store: S3Storage, name: str, entry: Entry, mime: str) -> StoredFile:
    md5 = hashlib.md5(usedforsecurity=False)
    compress = worth_compressing(entry.path)
    got = 0

    def chunks() -> Iterator[bytes]:
        nonlocal got
        packer = brotli.Compressor(quality=brotli_quality()) if compress else None
        while data := entry.reader.read(CHUNK):
            got += len(data)
            md5.update(data)
            out = packer.process(data) if packer else data
            if out:
                yield out
        if packer and (tail := packer.finish()):
            yield tail
        if got != entry.size:
            raise OSError("the tarball ended inside an entry")

    meta = {"original-length": str(entry.size), "encoding": "br" if compress else "identity"}
    result = store.put(name, chunks(), content_type=mime, metadata=meta)
    return StoredFile(entry.path, entry.size, md5.hexdigest(), "br" if compress else "", result.size, mime)
