"""Where thumbnails live: the thumbs area, ``<file_id>/<content_id>-<format>``.

A new content is a new key, so a thumbnail is never stale; deleting a content's
thumbnails needs no listing (the names are known).
"""

from __future__ import annotations

from collections.abc import Iterable

from cozy.instances.models import Instance
from cozy.storage.stores import store_for
from cozy.thumbnails.formats import THUMBNAIL_FORMATS
from vfs_s3.layout import checked_id
from vfs_s3.storage import S3Storage


def thumbs_store(instance: Instance) -> S3Storage:
    return store_for(instance, "thumbs")


def thumb_name(file_id: str, content_id: str, fmt: str) -> str:
    return f"{checked_id(file_id, 'file id')}/{checked_id(content_id, 'content id')}-{fmt}"


def names_of(contents: Iterable[tuple[str, str]]) -> list[str]:
    """Every thumbnail name of these (file_id, content_id)."""
    return [thumb_name(file_id, content_id, fmt) for file_id, content_id in contents for fmt in THUMBNAIL_FORMATS]


def delete_thumbnails(instance: Instance, contents: Iterable[tuple[str, str]]) -> int:
    """Delete the thumbnails of these contents (missing ones are no error)."""
    names = names_of(contents)
    return thumbs_store(instance).delete_many(names) if names else 0
