"""Read a release's files back: as stored (brotli or plain), or as the original bytes."""

from __future__ import annotations

import tarfile
import zlib
from collections.abc import Iterator

import brotli

from cozy.apps.models import Release, ReleaseFile
from cozy.apps.releases import store_of


def stored_chunks(release: Release, entry: ReleaseFile, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    if entry.stored_size == 0:
        return iter(())
    return store_of(release.kind).read(release.name(entry.path), start, end)


def original_chunks(release: Release, entry: ReleaseFile) -> Iterator[bytes]:
    """The file's original bytes, decompressed on the fly when stored brotli'd."""
    chunks = stored_chunks(release, entry)
    if entry.encoding != "br":
        yield from chunks
        return
    unpacker = brotli.Decompressor()
    for chunk in chunks:
        if out := unpacker.process(chunk):
            yield out
    if not unpacker.is_finished():
        raise OSError("a stored file ended early")


def tarball(release: Release) -> Iterator[bytes]:
    """The release as a .tar.gz, built as it is sent: one file's chunk in memory at a time."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: the gzip wrapper
    mtime = int(release.created_at.timestamp())
    for entry in release.entries.order_by("path"):
        info = tarfile.TarInfo(entry.path)
        info.size, info.mtime, info.mode = entry.size, mtime, 0o644
        yield packer.compress(info.tobuf(tarfile.PAX_FORMAT))
        for chunk in original_chunks(release, entry):
            if out := packer.compress(chunk):
                yield out
        if pad := -entry.size % tarfile.BLOCKSIZE:
            yield packer.compress(b"\0" * pad)
    yield packer.compress(b"\0" * tarfile.BLOCKSIZE * 2) + packer.flush()
