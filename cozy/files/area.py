"""The files area: every file's content and kept versions, ``files/<file_id>/<content_id>``."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Sum

from cozy.files.fsck.join import check_files
from cozy.files.fsck.repairs import REPAIRS, referenced
from cozy.files.fsck.tree import check_tree
from cozy.files.fsck.usage import check_usage
from cozy.files.models import Node, Version
from cozy.fsck.anomalies import Anomaly
from cozy.fsck.context import CheckContext
from cozy.instances.models import Instance
from cozy.storage.areas import Area


def forget(instance: Instance) -> None:
    """The instance's file index, deleted (instance deletion, phase 1)."""
    Version.objects.filter(file__instance=instance).delete()
    nodes = Node.objects.filter(instance=instance)
    nodes.update(parent=None)  # parent links are PROTECTed: unlink, then delete in bulk
    nodes.delete()


def totals(instance: Instance) -> tuple[int, int]:
    """(objects, bytes) of file contents and versions the index knows of."""
    files = Node.objects.filter(instance=instance, type=Node.Type.FILE).exclude(content_id="")
    f = files.aggregate(n=Count("id"), s=Sum("size"))
    v = Version.objects.filter(file__instance=instance).aggregate(n=Count("id"), s=Sum("size"))
    return f["n"] + v["n"], (f["s"] or 0) + (v["s"] or 0)


def _check_tree(ctx: CheckContext) -> Iterator[Anomaly]:
    yield from check_tree(ctx.instance)
    yield from check_usage(ctx.instance)


FILES = Area(
    "files", "files/", check=check_files, sharded=True, check_index=_check_tree, repairs=REPAIRS,
    referenced=referenced, forget=forget, totals=totals,
)  # fmt: skip
