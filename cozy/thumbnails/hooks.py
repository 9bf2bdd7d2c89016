"""What the thumbnails app does when the files app acts (cozy.files.events)."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.db import transaction

from cozy.files.events import content_committed, contents_deleted
from cozy.files.models import Node
from cozy.instances.models import Instance
from cozy.thumbnails.formats import has_thumbnails
from cozy.thumbnails.models import Preview, ThumbnailJob
from cozy.thumbnails.previews import delete_previews
from cozy.thumbnails.store import delete_thumbnails
from cozy.thumbnails.tasks import queue

log = logging.getLogger("cozy.thumbnails")


def queue_after_commit(sender: Any, instance: Instance, node: Node, **kwargs: Any) -> None:
    """A new image or PDF content: its job goes out once the content is committed, with its id."""
    if has_thumbnails(node.mime):
        transaction.on_commit(partial(queue, instance.pk, node.doc_id, node.content_id), robust=True)


def delete_with_contents(sender: Any, instance: Instance, names: list[str], **kwargs: Any) -> None:
    """Contents deleted after a commit: their thumbnails (and failure records) go too."""
    contents = [tuple(name.split("/", 1)) for name in names if name.count("/") == 1]
    try:
        delete_thumbnails(instance, contents)  # type: ignore[arg-type]
    except Exception as err:  # noqa: BLE001 - fsck reports thumbnails left behind, --fix removes them
        log.warning("could not delete the thumbnails of %d content(s): %s", len(contents), type(err).__name__)
    ThumbnailJob.objects.filter(instance=instance, content_id__in=[c for _, c in contents]).delete()
    previewed = Preview.objects.filter(instance=instance, content_id__in=[c for _, c in contents])
    try:
        delete_previews(instance, list(previewed.values_list("file_id", "content_id")))
    except Exception as err:  # noqa: BLE001 - the sweeper and fsck catch what is left
        log.warning("could not delete the previews of %d content(s): %s", len(contents), type(err).__name__)


def connect() -> None:
    content_committed.connect(queue_after_commit, dispatch_uid="cozy.thumbnails.queue")
    contents_deleted.connect(delete_with_contents, dispatch_uid="cozy.thumbnails.delete")
