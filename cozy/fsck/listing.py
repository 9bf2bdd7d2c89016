"""The S3 side: listings of one instance, in the order S3 returns them (byte order).

Every listing goes through an area's store, whose prefix ends with ``/``: a
neighbour whose prefix merely starts with the same characters (``abc`` and
``abc1``) is never listed, and a key outside the prefix is refused.
"""

from __future__ import annotations

from collections.abc import Iterator

from cozy.fsck.shards import KeyRange
from cozy.storage.areas import area_of
from vfs_s3.storage import Listed, S3Storage


def folder_of(name: str) -> str:
    """``<folder>/`` of a name (the whole name when it has no slash)."""
    head, slash, _ = name.partition("/")
    return head + slash


def list_range(store: S3Storage, key_range: KeyRange) -> Iterator[Listed]:
    """Objects of the store whose first-level folder is in ``key_range``."""
    # start_after is exclusive: start a little before ``lo`` and filter, so no key of the range is skipped.
    start_after = key_range.lo[:-1] if key_range.lo[:-1] else None
    for obj in store.list(start_after=start_after):
        folder = folder_of(obj.name)
        if key_range.hi is not None and folder >= key_range.hi:
            return
        if key_range.contains(folder):
            yield obj


def list_unclaimed(root: S3Storage) -> Iterator[Listed]:
    """Objects under the instance prefix that no registered area claims."""
    for top in root.list(recursive=False):
        if top.name.endswith("/"):
            if area_of(top.name) is None:
                yield from root.list(top.name)
        elif area_of(top.name) is None:
            yield top
