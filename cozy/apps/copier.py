"""Store one tarball entry in a release's area: brotli-compressed unless its type already is.

Entries up to ``BUFFERED`` bytes are read and compressed in memory, then sent
as one PUT with their length and MD5 (the store checks it). Larger entries
stream through a brotli compressor into the store's writer, so memory stays
bounded whatever their size. Metadata carries the original length (and the
original MD5 when it is known before the upload starts); the release's file
rows hold both in any case.
"""

from __future__ import annotations

import hashlib
import mimetypes
import posixpath
from collections.abc import Iterator
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


def store_entry(store: S3Storage, name: str, entry: Entry) -> tuple[StoredFile, bytes | None]:
    """Store ``entry`` at ``name``; (its record, its bytes when it was small enough to buffer)."""
    mime = mime_of(entry.path)
    if entry.size <= BUFFERED:
        data = entry.reader.read()
        if len(data) != entry.size:
            raise OSError("the tarball ended inside an entry")
        return _put_buffered(store, name, entry.path, data, mime), data
    return _put_streamed(store, name, entry, mime), None


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
