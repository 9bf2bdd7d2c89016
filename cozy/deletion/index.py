"""Delete the database side of an instance: index rows and tokens first, the instance row last."""

from __future__ import annotations

from django.apps import apps
from django.db import transaction
from django.db.models import Count, Sum

from cozy.instances.models import Instance, Token


def delete_index(db_prefix: str) -> bool:
    """Delete the instance's file index and tokens in one transaction; False if the instance is gone.

    This comes before the objects are deleted (the ordering rule: index first,
    bytes after). The instance row is locked, as every upload's commit locks
    it: an upload that committed before is in the index no more, but its object
    is on S3 and the object sweep that follows removes it; one that commits
    after finds its directory or file gone, fails, and removes its own object.
    The instance row stays, ``deleting``, so its address keeps answering 410.
    """
    with transaction.atomic():
        instance = Instance.objects.select_for_update().filter(db_prefix=db_prefix).first()
        if instance is None:
            return False
        if apps.is_installed("cozy.files"):
            _delete_file_index(instance)
        Token.objects.filter(instance=instance).delete()
    return True


def delete_instance_row(db_prefix: str) -> bool:
    """The last step: the instance row, and whatever other apps hang off it with CASCADE."""
    with transaction.atomic():
        instance = Instance.objects.select_for_update().filter(db_prefix=db_prefix).first()
        if instance is None:
            return False
        if apps.is_installed("cozy.files"):
            _delete_file_index(instance)  # nothing left unless a commit slipped in: it must not block the delete
        instance.delete()
    return True


def _delete_file_index(instance: Instance) -> None:
    from cozy.files.models import Node, Version

    Version.objects.filter(file__instance=instance).delete()
    nodes = Node.objects.filter(instance=instance)
    nodes.update(parent=None)  # parent links are PROTECTed: unlink, then delete in bulk
    nodes.delete()


def index_totals(instance: Instance) -> tuple[int, int]:
    """(objects, bytes) of file contents and versions the index knows of."""
    if not apps.is_installed("cozy.files"):
        return 0, 0
    from cozy.files.models import Node, Version

    files = Node.objects.filter(instance=instance, type=Node.Type.FILE).exclude(content_id="")
    f = files.aggregate(n=Count("id"), s=Sum("size"))
    v = Version.objects.filter(file__instance=instance).aggregate(n=Count("id"), s=Sum("size"))
    return f["n"] + v["n"], (f["s"] or 0) + (v["s"] or 0)
