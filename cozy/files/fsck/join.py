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
from collections.abc import Collection, Iterable, Iterator

from cozy.files.events import held_contents
from cozy.files.fsck.scan import Expected, expected_objects
from cozy.fsck import anomalies as A
from cozy.fsck.anomalies import Anomaly
from cozy.fsck.context import CheckContext, orphan
from cozy.fsck.models import LostFile
from vfs_s3.storage import Listed

_PLAIN_MD5 = re.compile(r"^[0-9a-f]{32}$")


def check_files(ctx: CheckContext, listed: Iterable[Listed]) -> Iterator[Anomaly]:
    """The files area's check: one shard of the index joined with the same shard's objects."""
    assert ctx.key_range is not None  # a sharded area
    lost = dict(LostFile.objects.filter(instance=ctx.instance).values_list("doc_id", "content_id"))
    checker = FileChecker(ctx, lost, held_contents(ctx.instance))
    return checker.join(expected_objects(ctx.instance, ctx.key_range), listed)


def read_md5(ctx: CheckContext, name: str) -> tuple[int, str]:
    digest, size = hashlib.md5(), 0  # noqa: S324 - an integrity check, as S3 does
    for chunk in ctx.store.read(name):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def _mismatch(exp: Expected, what: str, index_value: object, object_value: object) -> Anomaly:
    return Anomaly(
        A.CONTENT_MISMATCH, detail=what, file_id=exp.file_id, content_id=exp.content_id, object=exp.rel,
        extra={"index": index_value, "store": object_value, "version": exp.is_version},
    )


class FileChecker:
    def __init__(self, ctx: CheckContext, lost: dict[str, str], held: Collection[str] = frozenset()):
        self.ctx, self.deep, self.lost, self.counters = ctx, ctx.deep, lost, ctx.counters
        self.held = held  # names an unfinished import wrote before its index commit

    def join(self, expected: Iterable[Expected], listed: Iterable[Listed]) -> Iterator[Anomaly]:
        entries = iter(expected)
        exp = self._next(entries)
        for obj in listed:
            rel = self.ctx.rel(obj.name)
            while exp is not None and exp.rel < rel:
                yield from self._missing(exp)
                exp = self._next(entries)
            if exp is not None and exp.rel == rel:
                yield from self._compare(exp, obj)
                exp = self._next(entries)
            elif obj.name in self.held:
                yield orphan(rel, obj, A.CONTENT_HELD, detail="an unfinished import")
            else:
                yield orphan(rel, obj, detail=_orphan_detail(rel))
        while exp is not None:
            yield from self._missing(exp)
            exp = self._next(entries)

    def _next(self, entries: Iterator[Expected]) -> Expected | None:
        item = next(entries, None)
        if item is not None:
            self.counters.entries += 1
        return item

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
            size, md5 = read_md5(self.ctx, obj.name)
            if size != exp.size:
                yield _mismatch(exp, "size", exp.size, size)
            elif md5 != exp.md5:
                yield _mismatch(exp, "md5", exp.md5, md5)
            return
        etag = obj.etag.lower()
        if not exp.md5 or etag == exp.md5:
            return
        self.counters.heads += 1
        kept = (self.ctx.store.info(obj.name).md5 or "").lower() or (etag if _PLAIN_MD5.match(etag) else "")
        if kept and kept != exp.md5:
            yield _mismatch(exp, "md5", exp.md5, kept)


def _orphan_detail(rel: str) -> str:
    parts = rel.split("/")
    return "content" if len(parts) == 3 and all(parts) else "unexpected key"
