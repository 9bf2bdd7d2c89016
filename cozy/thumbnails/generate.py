"""Make and store the thumbnails of one content: read it, render, one sized PUT each.

Idempotent: running it again for the same content writes the same keys. A content
deleted while its thumbnails were being made gets them removed again, so a late job
leaves nothing behind that its content's cleanup already missed.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

from django.conf import settings

from cozy.files.content import content_name, files_store
from cozy.files.models import Node, Version
from cozy.instances.models import Instance
from cozy.thumbnails.formats import MIME, THUMBNAIL_FORMATS, has_thumbnails
from cozy.thumbnails.limits import Limits
from cozy.thumbnails.store import delete_thumbnails, thumb_name, thumbs_store

# Pillow reads headers a few bytes at a time: buffer them instead of one small GET each.
READ_BUFFER = 256 * 1024


@dataclass(frozen=True)
class Source:
    mime: str
    size: int


def source_of(instance: Instance, file_id: str, content_id: str) -> Source | None:
    """The file's current content or a kept version, if the index still has it."""
    node = Node.objects.filter(instance=instance, doc_id=file_id, type=Node.Type.FILE).first()
    if node is None or not content_id:
        return None
    if node.content_id == content_id:
        return Source(node.mime, node.size)
    version = Version.objects.filter(file=node, content_id=content_id).first()
    return Source(version.mime, version.size) if version else None


def generate(instance: Instance, file_id: str, content_id: str, names: tuple[str, ...] = THUMBNAIL_FORMATS,
             limits: Limits | None = None) -> list[str]:  # fmt: skip
    """The formats made and stored ([] when the content is gone or has no thumbnails).

    Raises ThumbnailError for a source that cannot have any (recorded by the caller),
    OSError when the store fails (retried by the caller).
    """
    source = source_of(instance, file_id, content_id)
    if source is None or not has_thumbnails(source.mime):
        return []
    limits = limits or Limits.from_settings()
    limits.check_bytes(source.size)  # before any GET
    from cozy.thumbnails.render import thumbnails_of  # Pillow and its plugins: only where they work

    with files_store(instance).open(content_name(file_id, content_id), "rb") as opened:
        thumbs = thumbnails_of(io.BufferedReader(opened.file, READ_BUFFER), source.mime, names,
                               size=source.size, limits=limits)  # fmt: skip
    store = thumbs_store(instance)
    pause = getattr(settings, "COZY_THUMBS_PAUSE_MS", 0) / 1000
    for thumb in thumbs.values():
        store.put(thumb_name(file_id, content_id, thumb.format), thumb.data, length=len(thumb.data),
                  expected_md5=thumb.md5, content_type=MIME)  # fmt: skip
        if pause:  # tests only: holds a job between two PUTs, for the test that kills its worker there
            time.sleep(pause)
    if source_of(instance, file_id, content_id) is None:
        delete_thumbnails(instance, [(file_id, content_id)])  # deleted meanwhile: its cleanup may be done
        return []
    return list(thumbs)
