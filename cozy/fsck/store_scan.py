"""The S3 side: listings under ``<db_prefix>/`` only, in the order S3 returns them.

The prefix always ends with ``/``, so a neighbour whose prefix merely starts
with the same characters (``abc`` and ``abc1``) is never listed.
ListObjectsV2 gives size, ETag and LastModified, not user metadata.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from minio import Minio

from cozy.fsck.shards import KeyRange
from vfs_s3.layout import files_prefix, instance_prefix


@dataclass(frozen=True)
class Listed:
    rel: str  # key relative to the instance prefix
    size: int
    etag: str
    last_modified: datetime | None


def folder_of(rel_in_files: str) -> str:
    """``<file_id>/`` of a key below ``files/`` (the whole rest when it has no slash)."""
    head, slash, _ = rel_in_files.partition("/")
    return head + slash


def _listed(obj, cut: int) -> Listed:
    return Listed(obj.object_name[cut:], obj.size or 0, (obj.etag or "").strip('"'), obj.last_modified)


def list_files(client: Minio, bucket: str, db_prefix: str, key_range: KeyRange) -> Iterator[Listed]:
    """Objects below ``files/`` whose file folder is in ``key_range``."""
    prefix = files_prefix(db_prefix)
    cut = len(instance_prefix(db_prefix))
    # start_after is exclusive: start a little before ``lo`` and filter, so no key of the range is skipped.
    start_after = prefix + key_range.lo[:-1] if key_range.lo else None
    for obj in client.list_objects(bucket, prefix=prefix, recursive=True, start_after=start_after):
        folder = folder_of(obj.object_name[len(prefix) :])
        if key_range.hi is not None and folder >= key_range.hi:
            return
        if key_range.contains(folder):
            yield _listed(obj, cut)


def list_rest(client: Minio, bucket: str, db_prefix: str) -> Iterator[Listed]:
    """Every object under the instance prefix except those below ``files/``."""
    prefix = instance_prefix(db_prefix)
    cut = len(prefix)
    for top in client.list_objects(bucket, prefix=prefix, recursive=False):
        if not top.is_dir:
            yield _listed(top, cut)
        elif top.object_name != files_prefix(db_prefix):
            for obj in client.list_objects(bucket, prefix=top.object_name, recursive=True):
                yield _listed(obj, cut)
