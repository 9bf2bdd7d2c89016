"""Make the thumbnails of an instance's files again, or only the missing ones.

For instances whose files predate thumbnails, or after a change of the renderer.
Only current contents: a kept version gets its thumbnails when they are asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cozy.files.models import Node
from cozy.instances.models import Instance
from cozy.thumbnails.errors import ThumbnailError
from cozy.thumbnails.formats import IMAGE_MIMES, PDF_MIME, THUMBNAIL_FORMATS
from cozy.thumbnails.generate import generate
from cozy.thumbnails.models import ThumbnailJob
from cozy.thumbnails.store import thumbs_store

OnEach = Callable[[str], None]  # called with "made", "failed" or "skipped" after each file


@dataclass
class Counts:
    made: int = 0
    failed: int = 0
    skipped: int = 0


def candidates(instance: Instance) -> Iterator[tuple[str, str]]:
    """(file_id, content_id) of every current image or PDF content, in file id order."""
    files = Node.objects.filter(instance=instance, type=Node.Type.FILE, mime__in=[*IMAGE_MIMES, PDF_MIME])
    yield from files.exclude(content_id="").order_by("doc_id").values_list("doc_id", "content_id").iterator(2000)


def count_candidates(instance: Instance) -> int:
    files = Node.objects.filter(instance=instance, type=Node.Type.FILE, mime__in=[*IMAGE_MIMES, PDF_MIME])
    return files.exclude(content_id="").count()


def complete(instance: Instance) -> set[tuple[str, str]]:
    """Contents that have all four thumbnails: one listing of the thumbs area."""
    seen: dict[tuple[str, str], int] = {}
    for obj in thumbs_store(instance).list():
        file_id, _, rest = obj.name.partition("/")
        content_id, _, fmt = rest.rpartition("-")
        if fmt in THUMBNAIL_FORMATS:
            seen[(file_id, content_id)] = seen.get((file_id, content_id), 0) + 1
    return {key for key, n in seen.items() if n == len(THUMBNAIL_FORMATS)}


def regenerate(instance: Instance, *, missing_only: bool = False, on_each: OnEach | None = None) -> Counts:
    from cozy.thumbnails.tasks import record_failure

    counts = Counts()
    done = complete(instance) if missing_only else set()
    for file_id, content_id in candidates(instance):
        if (file_id, content_id) in done:
            outcome = "skipped"
        else:
            try:
                outcome = "made" if generate(instance, file_id, content_id) else "skipped"
                ThumbnailJob.objects.filter(instance=instance, content_id=content_id,
                                            kind=ThumbnailJob.Kind.THUMBS).delete()  # fmt: skip
            except ThumbnailError as err:
                record_failure(instance, file_id, content_id, err.reason, str(err), err.permanent)
                outcome = "failed"
        setattr(counts, outcome, getattr(counts, outcome) + 1)
        if on_each:
            on_each(outcome)
    return counts
