"""Forget a lost content once its file has new bytes.

When a file set aside in /lost+found gets a new content (an upload, a revert),
the files app keeps the old, lost content id as a version, like any other. That
version has no object behind it: it is removed in the same transaction, with
the LostFile record, so the versions panel never offers it and the next fsck is
clean.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save

from cozy.files.models import Node, Version
from cozy.fsck.models import LostFile


def forget_lost_content(sender: type[Node], instance: Node, created: bool, **kwargs: Any) -> None:
    if created or instance.is_dir:
        return
    lost = LostFile.objects.filter(instance_id=instance.instance_id, doc_id=instance.doc_id).first()
    if lost is None or lost.content_id == instance.content_id:
        return
    Version.objects.filter(file=instance, content_id=lost.content_id).delete()
    lost.delete()


def connect() -> None:
    post_save.connect(forget_lost_content, sender=Node, dispatch_uid="cozy.files.forget_lost_content")
