"""The index side of the merge join: every content the index references, in S3 key order.

S3 lists keys in UTF-8 byte order. Keys are ``files/<file_id>/<content_id>``;
since no id contains ``/``, sorting by ``<file_id>/`` then by content id is
exactly key order. The database sorts the same way under a binary collation
(``C`` on PostgreSQL, ``BINARY`` on SQLite), and Python compares str by code
point, which is UTF-8 byte order too. Rows stream with ``.iterator()``: memory
does not grow with the number of files.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Collate, Concat

from cozy.files.models import Node, Version
from cozy.fsck.shards import KeyRange
from cozy.instances.models import Instance

CHUNK = 5000


@dataclass(frozen=True)
class Expected:
    """One object the index references (``rel`` is relative to the instance prefix)."""

    rel: str
    file_id: str
    content_id: str
    size: int
    md5: str
    is_version: bool


def binary_collation() -> str:
    return "C" if connection.vendor == "postgresql" else "BINARY"


def _in_range(qs: QuerySet, folder_expr, key_range: KeyRange) -> QuerySet:
    qs = qs.annotate(folder=Collate(folder_expr, binary_collation()))
    if key_range.lo:
        qs = qs.filter(folder__gte=key_range.lo)
    if key_range.hi is not None:
        qs = qs.filter(folder__lt=key_range.hi)
    return qs


def _files(instance: Instance, key_range: KeyRange) -> Iterator[Expected]:
    qs = Node.objects.filter(instance=instance, type=Node.Type.FILE).exclude(content_id="")
    qs = _in_range(qs, Concat(F("doc_id"), Value("/")), key_range).order_by("folder")
    for doc_id, content_id, size, md5 in qs.values_list("doc_id", "content_id", "size", "md5").iterator(CHUNK):
        yield Expected(f"files/{doc_id}/{content_id}", doc_id, content_id, size, md5, False)


def _versions(instance: Instance, key_range: KeyRange) -> Iterator[Expected]:
    qs = Version.objects.filter(file__instance=instance, file__type=Node.Type.FILE)
    qs = _in_range(qs, Concat(F("file__doc_id"), Value("/")), key_range)
    qs = qs.annotate(cid=Collate("content_id", binary_collation())).order_by("folder", "cid")  # type: ignore[misc]
    rows = qs.values_list("file__doc_id", "content_id", "size", "md5").iterator(CHUNK)
    for doc_id, content_id, size, md5 in rows:
        yield Expected(f"files/{doc_id}/{content_id}", doc_id, content_id, size, md5, True)


def expected_objects(instance: Instance, key_range: KeyRange) -> Iterator[Expected]:
    """Current contents and versions of the files whose id falls in ``key_range``, in key order."""
    return heapq.merge(_files(instance, key_range), _versions(instance, key_range), key=lambda e: e.rel)


def file_contents(instance: Instance) -> Iterator[tuple[str, frozenset[str]]]:
    """(file_id, its content ids: current and kept versions), in file id key order."""
    current: tuple[str, set[str]] | None = None
    for item in expected_objects(instance, KeyRange()):
        if current is None or current[0] != item.file_id:
            if current is not None:
                yield current[0], frozenset(current[1])
            current = (item.file_id, set())
        current[1].add(item.content_id)
    if current is not None:
        yield current[0], frozenset(current[1])


def count_expected(instance: Instance) -> int:
    files = Node.objects.filter(instance=instance, type=Node.Type.FILE).exclude(content_id="").count()
    return files + Version.objects.filter(file__instance=instance).count()
