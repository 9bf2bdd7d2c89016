"""Read a release tarball as a stream, entry by entry, refusing anything but plain files.

The tarball is read once, front to back (``tarfile`` in stream mode over a
hashing reader): no entry is buffered whole, nothing is spooled to disk, and
the sha256 covers every byte of the source, read to its end.
"""

from __future__ import annotations

import hashlib
import tarfile
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Protocol


class BadTarball(ValueError):
    """The tarball or one of its entries is refused (the message says which and why)."""


@dataclass(frozen=True)
class Limits:
    max_files: int = 10_000
    max_file_size: int = 200 * 1024 * 1024
    max_total: int = 1024 * 1024 * 1024
    max_source: int = 1024 * 1024 * 1024  # compressed bytes read from the source


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class HashingReader:
    """Reads through ``raw``, hashing (sha256) and counting the bytes as they pass."""

    def __init__(self, raw: Readable, limit: int):
        self.raw, self.limit = raw, limit
        self.sha256 = hashlib.sha256()
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n if n is not None and n >= 0 else 1024 * 1024)
        self.count += len(data)
        if self.count > self.limit:
            raise BadTarball(f"the tarball is larger than {self.limit} bytes")
        self.sha256.update(data)
        return data

    def drain(self) -> None:
        """Read to the end (the gzip trailer and padding count in the sum)."""
        while self.read(1024 * 1024):
            pass


@dataclass(frozen=True)
class Entry:
    path: str
    size: int
    reader: IO[bytes]


def clean_path(raw: str) -> str:
    """The stored form of an entry name, or BadTarball: NFC, relative, no "." or empty
    components; absolute names, ".." components, NUL and backslashes are refused."""
    if "\x00" in raw:
        raise BadTarball(f"entry {raw!r}: NUL in its name")
    if "\\" in raw:
        raise BadTarball(f"entry {raw!r}: a backslash in its name")
    if raw.startswith("/"):
        raise BadTarball(f"entry {raw!r}: an absolute name")
    parts = [p for p in unicodedata.normalize("NFC", raw).split("/") if p not in ("", ".")]
    if ".." in parts:
        raise BadTarball(f"entry {raw!r}: a '..' component")
    if any(ord(c) < 32 or ord(c) == 127 for c in raw):
        raise BadTarball(f"entry {raw!r}: a control character in its name")
    if not parts:
        raise BadTarball(f"entry {raw!r}: an empty name")
    return "/".join(parts)


def _kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return "a symbolic link"
    if member.islnk():
        return "a hard link"
    if member.ischr() or member.isblk():
        return "a device"
    if member.isfifo():
        return "a FIFO"
    return "not a regular file"


def entries(source: HashingReader, limits: Limits) -> Iterator[Entry]:
    """The tarball's regular files in order (directories are skipped); BadTarball on the
    first refused entry. Each entry's reader must be read before the next is asked for."""
    seen: set[str] = set()
    total = 0
    try:
        with tarfile.open(fileobj=source, mode="r|gz") as tar:  # type: ignore[call-overload]
            for count, member in enumerate(tar, 1):
                if count > 2 * limits.max_files:  # directories count too, at half weight: bounded work
                    raise BadTarball(f"more than {2 * limits.max_files} entries")
                if member.isdir():
                    clean_path(member.name)  # a refused name is refused on a directory too
                    continue
                if not member.isreg():
                    raise BadTarball(f"entry {member.name!r}: {_kind(member)}")
                path = clean_path(member.name)
                if path in seen:
                    raise BadTarball(f"entry {path!r}: a duplicate")
                seen.add(path)
                if len(seen) > limits.max_files:
                    raise BadTarball(f"more than {limits.max_files} files")
                if member.size > limits.max_file_size:
                    raise BadTarball(f"entry {path!r}: larger than {limits.max_file_size} bytes")
                total += member.size
                if total > limits.max_total:
                    raise BadTarball(f"the files total more than {limits.max_total} bytes")
                reader = tar.extractfile(member)
                assert reader is not None  # a regular file always has one
                yield Entry(path, member.size, reader)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        raise BadTarball(f"not a valid tar.gz: {type(err).__name__}") from None
    source.drain()
