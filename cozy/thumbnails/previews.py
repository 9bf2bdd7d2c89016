"""PDF previews: page 1 fit in 1080x1920, in the previews area, swept when unused.

cozy-stack's ``/files/{id}/preview/{secret}`` (and ``/icon/``, which is the tiny
thumbnail) as compatibility routes on the thumbnail pipeline. Each instance has its
own, ``<db_prefix>/previews/<file_id>/<content_id>-preview``: never a cache shared
across instances, whose hit would tell one instance that another holds the same PDF.
A preview is made on demand; one not served for ``COZY_PREVIEWS_MAX_AGE`` days is
removed by the ``sweep_previews`` periodic task.
"""

from __future__ import annotations

import io
import logging
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from cozy.files.content import content_name, files_store
from cozy.instances.models import Instance
from cozy.storage.areas import Area
from cozy.storage.stores import store_for
from cozy.thumbnails.area import check_thumbs
from cozy.thumbnails.formats import MIME, PDF_MIME
from cozy.thumbnails.generate import READ_BUFFER, source_of
from cozy.thumbnails.limits import Limits
from cozy.thumbnails.models import Preview
from vfs_s3.layout import checked_id

log = logging.getLogger("cozy.thumbnails")
# Same naming as thumbnails (<file_id>/<content_id>-<format>): fsck's thumbnail check fits as is.
PREVIEWS = Area("previews", "previews/", check=check_thumbs)
USE_EVERY = timedelta(hours=1)  # last_used is written at most this often per preview


def previews_store(instance: Instance):
    return store_for(instance, "previews")


def preview_name(file_id: str, content_id: str) -> str:
    return f"{checked_id(file_id, 'file id')}/{checked_id(content_id, 'content id')}-preview"


def make_preview(instance: Instance, file_id: str, content_id: str, limits: Limits | None = None) -> bytes | None:
    """Render and store the preview of a PDF content, its bytes; None when the content is gone or not a PDF."""
    source = source_of(instance, file_id, content_id)
    if source is None or source.mime != PDF_MIME:
        return None
    limits = limits or Limits.from_settings()
    limits.check_bytes(source.size)
    from cozy.thumbnails.render import thumbnails_of  # Pillow and pdfium: only where they work

    with files_store(instance).open(content_name(file_id, content_id), "rb") as opened:
        reader = io.BufferedReader(opened.file, READ_BUFFER)
        preview = thumbnails_of(reader, PDF_MIME, ["preview"], size=source.size, limits=limits)["preview"]
    previews_store(instance).put(preview_name(file_id, content_id), preview.data, length=len(preview.data),
                                 expected_md5=preview.md5, content_type=MIME)  # fmt: skip
    Preview.objects.update_or_create(instance=instance, content_id=content_id,
                                     defaults={"file_id": file_id, "last_used": timezone.now()})  # fmt: skip
    if source_of(instance, file_id, content_id) is None:  # deleted meanwhile: its cleanup may be done
        delete_previews(instance, [(file_id, content_id)])
        return None
    return preview.data


def touch(instance: Instance, content_id: str) -> None:
    """Mark a preview as used now (at most once per USE_EVERY)."""
    stale = timezone.now() - USE_EVERY
    Preview.objects.filter(instance=instance, content_id=content_id, last_used__lt=stale).update(
        last_used=timezone.now()
    )


def delete_previews(instance: Instance, contents: list[tuple[str, str]]) -> None:
    if not contents:
        return
    previews_store(instance).delete_many([preview_name(f, c) for f, c in contents])
    Preview.objects.filter(instance=instance, content_id__in=[c for _, c in contents]).delete()


def sweep(max_age: timedelta | None = None) -> int:
    """Remove previews not used for ``max_age`` (default ``COZY_PREVIEWS_MAX_AGE`` days); how many."""
    max_age = max_age or timedelta(days=getattr(settings, "COZY_PREVIEWS_MAX_AGE", 30))
    old = Preview.objects.filter(last_used__lt=timezone.now() - max_age).select_related("instance")
    by_instance: dict[int, list[Preview]] = defaultdict(list)
    for row in old.iterator(2000):
        by_instance[row.instance_id].append(row)
    removed = 0
    for rows in by_instance.values():
        instance = rows[0].instance
        try:
            delete_previews(instance, [(r.file_id, r.content_id) for r in rows])
            removed += len(rows)
        except OSError as err:  # the next sweep tries again
            log.warning("could not sweep the previews of an instance: %s", type(err).__name__)
    return removed
