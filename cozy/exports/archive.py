"""Zip parts made as streams: each content is read from the store while its entry is
written, and nothing whole is held in memory or spooled to disk.

Parts are independent zip files (zip64 where needed). Contents are stored as
they are, except types that compress well (text, JSON, XML...), which are
deflated. A content goes into the current part unless that part already holds
``part_size`` bytes or more with it, so a part exceeds the size only by a content
larger than the size itself. The metadata document closes the last part.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from zipstream import ZIP_DEFLATED, ZipStream

from cozy.exports.snapshot import FORMAT, FORMAT_VERSION, METADATA_ENTRY, Content, Snapshot, records
from vfs_s3.storage import S3Storage

COMPRESSIBLE = ("text/", "application/json", "application/xml", "application/javascript", "image/svg+xml",
                "application/x-yaml", "application/sql", "application/rtf")  # fmt: skip
AVATAR_ENTRY = "avatar"
CHUNK = 64 * 1024  # the metadata document goes into its zip entry in pieces of about this size


class ContentChanged(OSError):
    """A content's bytes differ from the MD5 the index holds (a damaged object)."""


def compressible(mime: str) -> bool:
    return mime.startswith(COMPRESSIBLE)


def plan_parts(contents: list[Content], part_size: int) -> list[list[Content]]:
    """Contents grouped into parts of about ``part_size`` bytes each; at least one part."""
    parts: list[list[Content]] = [[]]
    filled = 0
    for content in contents:
        if parts[-1] and filled + content.size > part_size:
            parts.append([])
            filled = 0
        parts[-1].append(content)
        filled += content.size
    return parts


@dataclass
class Counted:
    """An iterator of bytes that counts and hashes what passes: a part's size and MD5."""

    chunks: Iterator[bytes]
    size: int = 0
    _md5: Any = field(default_factory=lambda: hashlib.md5(usedforsecurity=False))

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.size += len(chunk)
            self._md5.update(chunk)
            yield chunk

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()


def _checked(first: bytes, rest: Iterator[bytes], content: Content, progress: Callable[[int], None]) -> Iterator[bytes]:
    """The content's bytes, hashed as they pass; ContentChanged at the end if they are not the
    index's (the zip is then abandoned: the export fails rather than carry damaged bytes)."""
    md5, size = hashlib.md5(usedforsecurity=False), 0
    for chunk in itertools.chain((first,), rest):
        md5.update(chunk)
        size += len(chunk)
        progress(len(chunk))
        yield chunk
    if size != content.size or (content.md5 and md5.hexdigest() != content.md5):
        raise ContentChanged("a file's content does not match the index (run fsck)")


def _opened(store: S3Storage, content: Content) -> tuple[bytes, Iterator[bytes]] | None:
    """The content's first chunk and the rest; None if its object is gone (deleted after the
    snapshot, with its file or as a pruned version)."""
    chunks = store.read(f"{content.file_id}/{content.content_id}")
    try:
        return next(chunks, b""), chunks
    except FileNotFoundError:
        return None


@dataclass
class PartWriter:
    """Makes the parts of one export; ``left_out`` collects what vanished meanwhile."""

    snapshot: Snapshot
    files: S3Storage  # the instance's files area
    avatar: S3Storage  # the instance root, where the avatar is one name
    progress: Callable[[int, int], None]  # (files, bytes) done since the last call
    left_out: list[Content] = field(default_factory=list)
    avatar_record: dict[str, Any] | None = None
    pause: float = 0.0  # seconds after each content (config.pause_seconds)

    def part(self, n: int, contents: list[Content], last: bool) -> Iterator[bytes]:
        zs = ZipStream(sized=False)
        for content in contents:
            yield from self._add_content(zs, n, content)
        if last:
            yield from self._add_avatar(zs, n)
            zs.add(self.metadata(n), METADATA_ENTRY, compress_type=ZIP_DEFLATED)  # a stream
            yield from zs.all_files()
        yield from zs.footer()

    def _add_content(self, zs: ZipStream, n: int, content: Content) -> Iterator[bytes]:
        if content.size == 0:
            zs.add(b"", content.entry)
        else:
            opened = _opened(self.files, content)
            if opened is None:
                self.left_out.append(content)
                return
            chunks = _checked(*opened, content, lambda b: self.progress(0, b))
            zs.add(chunks, content.entry, size=content.size,
                   compress_type=ZIP_DEFLATED if compressible(content.mime) else None)  # fmt: skip
        content.part = n
        yield from zs.all_files()
        self.progress(1, 0)
        if self.pause:
            time.sleep(self.pause)

    def _add_avatar(self, zs: ZipStream, n: int) -> Iterator[bytes]:
        try:
            chunks = self.avatar.read(AVATAR_ENTRY)
            first = next(chunks, b"")
        except FileNotFoundError:
            return
        counted = Counted(itertools.chain((first,), chunks))
        zs.add(iter(counted), AVATAR_ENTRY)
        yield from zs.all_files()
        self.avatar_record = {"part": n, "entry": AVATAR_ENTRY, "size": counted.size, "md5": counted.md5}

    def metadata(self, parts: int) -> Iterator[bytes]:
        """The metadata document, encoded as it is read: one node record at a time, never the
        whole document in memory (it grows with the number of files)."""
        head = {
            "format": FORMAT, "version": FORMAT_VERSION, "parts": parts,
            "instance": self.snapshot.settings, "avatar": self.avatar_record, "apps": self.snapshot.apps,
        }  # fmt: skip
        return _batched(_document(head, records(self.snapshot)))


def _document(head: dict[str, Any], files: Iterator[dict[str, Any]]) -> Iterator[str]:
    """``head`` with a "files" list of ``files`` appended: one JSON object."""
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "files": ['
    for i, record in enumerate(files):
        yield ("\n" if i == 0 else ",\n") + json.dumps(record, ensure_ascii=False)
    yield "\n]}\n"


def _batched(pieces: Iterator[str]) -> Iterator[bytes]:
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    yield "".join(buffer).encode()
