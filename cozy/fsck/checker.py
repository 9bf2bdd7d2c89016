"""The merge join of the sorted index against the sorted S3 listing.

Both sides arrive in key order, so one pass with two cursors finds every
object the index lacks and every entry S3 lacks, holding one item of each side.

MD5 check, by default: the listing gives the size and the ETag. A single-PUT
ETag is the MD5 of the bytes on most servers, so an ETag equal to the index
MD5 needs nothing more. Otherwise (multipart ETag, or an ETag that differs,
e.g. under SSE-KMS) the object is HEADed and the MD5 kept in its metadata
(``x-amz-meta-md5``) decides. ``deep`` re-reads every object's bytes instead.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from minio import Minio

from cozy.fsck import anomalies as A
from cozy.fsck.anomalies import Anomaly
from cozy.fsck.index_scan import Expected
from cozy.fsck.store_scan import Listed
from vfs_s3.writer import MD5_META

_PLAIN_MD5 = re.compile(r"^[0-9a-f]{32}$")
READ_CHUNK = 1024 * 1024


@dataclass
class StoreAccess:
    client: Minio
    bucket: str
    prefix: str  # "<db_prefix>/"

    def meta_md5(self, rel: str) -> str:
        stat = self.client.stat_object(self.bucket, self.prefix + rel)
        return (stat.metadata.get(f"x-amz-meta-{MD5_META}") or "").lower()

    def read_md5(self, rel: str) -> tuple[int, str]:
        digest, size = hashlib.md5(), 0  # noqa: S324 - an integrity check, as S3 does
        resp = self.client.get_object(self.bucket, self.prefix + rel)
        try:
            for chunk in resp.stream(READ_CHUNK):
                digest.update(chunk)
                size += len(chunk)
        finally:
            resp.close()
            resp.release_conn()
        return size, digest.hexdigest()


@dataclass
class Counters:
    objects: int = 0
    entries: int = 0
    heads: int = 0
    tick: Callable[[int], None] = field(default=lambda n: None)


def _mismatch(exp: Expected, what: str, index_value: object, object_value: object) -> Anomaly:
    return Anomaly(
        A.CONTENT_MISMATCH, detail=what, file_id=exp.file_id, content_id=exp.content_id, object=exp.rel,
        extra={"index": index_value, "store": object_value, "version": exp.is_version},
    )


def orphan(obj: Listed, kind: str = A.INDEX_MISSING, detail: str = "") -> Anomaly:
    modified = obj.last_modified.isoformat() if obj.last_modified else ""
    return Anomaly(kind, detail=detail, object=obj.rel, extra={"size": obj.size, "last_modified": modified})


class FileChecker:
    def __init__(self, store: StoreAccess, *, deep: bool, lost: dict[str, str], counters: Counters):
        self.store, self.deep, self.lost, self.counters = store, deep, lost, counters

    def join(self, expected: Iterable[Expected], listed: Iterable[Listed]) -> Iterator[Anomaly]:
        entries = iter(expected)
        exp = self._next(entries)
        for obj in listed:
            self._count_object()
            while exp is not None and exp.rel < obj.rel:
                yield from self._missing(exp)
                exp = self._next(entries)
            if exp is not None and exp.rel == obj.rel:
                yield from self._compare(exp, obj)
                exp = self._next(entries)
            else:
                yield orphan(obj, detail=_orphan_detail(obj.rel))
        while exp is not None:
            yield from self._missing(exp)
            exp = self._next(entries)

    def _next(self, entries: Iterator[Expected]) -> Expected | None:
        item = next(entries, None)
        if item is not None:
            self.counters.entries += 1
        return item

    def _count_object(self) -> None:
        self.counters.objects += 1
        if self.counters.objects % 1000 == 0:
            self.counters.tick(1000)

    def _missing(self, exp: Expected) -> Iterator[Anomaly]:
        if exp.is_version:
            yield Anomaly(A.VERSION_MISSING, file_id=exp.file_id, content_id=exp.content_id, object=exp.rel)
        elif self.lost.get(exp.file_id) != exp.content_id:  # not already set aside by --fix
            yield Anomaly(A.FILESYSTEM_MISSING, file_id=exp.file_id, content_id=exp.content_id, object=exp.rel)

    def _compare(self, exp: Expected, obj: Listed) -> Iterator[Anomaly]:
        if obj.size != exp.size:
            yield _mismatch(exp, "size", exp.size, obj.size)
            return
        if self.deep:
            size, md5 = self.store.read_md5(exp.rel)
            if size != exp.size:
                yield _mismatch(exp, "size", exp.size, size)
            elif md5 != exp.md5:
                yield _mismatch(exp, "md5", exp.md5, md5)
            return
        etag = obj.etag.lower()
        if not exp.md5 or etag == exp.md5:
            return
        self.counters.heads += 1
        kept = self.store.meta_md5(exp.rel) or (etag if _PLAIN_MD5.match(etag) else "")
        if kept and kept != exp.md5:
            yield _mismatch(exp, "md5", exp.md5, kept)


def _orphan_detail(rel: str) -> str:
    parts = rel.split("/")
    return "content" if len(parts) == 3 and all(parts) else "unexpected key"


def thumb_file_id(rel: str) -> tuple[str, str]:
    """(file_id, content_id) of ``thumbs/<file_id>/<content_id>-<size>``; ("", "") if malformed."""
    parts = rel.split("/")
    if len(parts) != 3 or not parts[1] or "-" not in parts[2]:
        return "", ""
    return parts[1], parts[2].rpartition("-")[0]


def join_thumbs(thumbs: Iterable[Listed], files: Iterator[tuple[str, frozenset[str]]]) -> Iterator[Anomaly]:
    """Thumbnails whose file is gone, or whose content is neither current nor kept."""
    current: tuple[str, frozenset[str]] | None = None
    exhausted = False
    for obj in thumbs:
        file_id, content_id = thumb_file_id(obj.rel)
        while not exhausted and (current is None or current[0] + "/" < file_id + "/"):
            current = next(files, None)
            exhausted = current is None
        if not (file_id and current is not None and current[0] == file_id and content_id in current[1]):
            yield orphan(obj, A.THUMBNAIL_WITH_NO_FILE)
