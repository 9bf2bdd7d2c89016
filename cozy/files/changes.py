"""The change feed: every change of the index takes a fresh number of the instance's
sequence (``Node.seq``, ``Tombstone.seq`` for deletions), so a client that saw
everything up to ``last_seq`` asks for what came after it.

Numbers come from one counter row per instance, locked until the change commits:
a reader never sees number N+1 before N is visible (so it cannot skip N).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Value
from django.utils import timezone

from cozy.files.models import Node, Sequence, Tombstone, next_seq
from cozy.instances.models import Instance


def touch_many(instance: Instance, nodes: Iterable[Node], **fields: Any) -> None:
    """Set ``fields`` on many rows as ``Node.save`` would: one new number and revision each."""
    nodes = list(nodes)
    if not nodes:
        return
    first = next_seq(instance.pk, len(nodes))
    now = timezone.now()
    for offset, node in enumerate(nodes):
        for name, value in fields.items():
            setattr(node, name, value)
        node.seq, node.revision, node.updated_at = first + offset, node.revision + 1, now
    Node.objects.bulk_update(nodes, [*fields, "seq", "revision", "updated_at"], batch_size=500)


def record_deleted(instance: Instance, doc_ids: list[str]) -> None:
    """Documents deleted for good: tombstones so that the feed reports them."""
    if not doc_ids:
        return
    first = next_seq(instance.pk, len(doc_ids))
    Tombstone.objects.bulk_create(
        [Tombstone(instance=instance, doc_id=d, seq=first + i) for i, d in enumerate(doc_ids)], batch_size=500
    )


def changes_since(instance: Instance, since: int, limit: int) -> list[tuple[int, str, bool]]:
    """Up to ``limit`` (seq, doc_id, deleted) after ``since``, in order: two index range scans."""
    alive = (Node.objects.filter(instance=instance, seq__gt=since).order_by("seq")
             .annotate(deleted=Value(False)).values_list("seq", "doc_id", "deleted")[:limit])
    gone = (Tombstone.objects.filter(instance=instance, seq__gt=since).order_by("seq")
            .annotate(deleted=Value(True)).values_list("seq", "doc_id", "deleted")[:limit])
    rows = sorted([*alive, *gone])[:limit]
    return [(int(seq), doc_id, bool(deleted)) for seq, doc_id, deleted in rows]


def last_seq(instance: Instance) -> int:
    return Sequence.objects.filter(instance=instance).values_list("last", flat=True).first() or 0
