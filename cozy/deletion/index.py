"""Delete the database side of an instance: index rows and tokens first, the instance row last."""

from __future__ import annotations

from django.db import transaction

from cozy.instances.models import Instance, Token
from cozy.storage.areas import registered


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
        _forget(instance)
        Token.objects.filter(instance=instance).delete()
    return True


def delete_instance_row(db_prefix: str) -> bool:
    """The last step: the instance row, and whatever other apps hang off it with CASCADE."""
    with transaction.atomic():
        instance = Instance.objects.select_for_update().filter(db_prefix=db_prefix).first()
        if instance is None:
            return False
        _forget(instance)  # nothing left unless a commit slipped in: it must not block the delete
        instance.delete()
    return True


def _forget(instance: Instance) -> None:
    """Every area's index rows of the instance (the files index...)."""
    for area in registered():
        if area.forget:
            area.forget(instance)


def index_totals(instance: Instance) -> tuple[int, int]:
    """(objects, bytes) that the areas' indexes know of."""
    counts = [area.totals(instance) for area in registered() if area.totals]
    return sum(c[0] for c in counts), sum(c[1] for c in counts)
