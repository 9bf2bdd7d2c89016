"""The change feed: every change of the index takes a fresh number of the instance's
sequence (``Node.seq``, ``Tombstone.seq`` for deletions), so a client that saw
everything up to ``last_seq`` asks for what came after it.

Numbers come from one counter row per instance, locked until the change commits:
a reader never sees number N+1 before N is visible (so it cannot skip N).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class Change:
    seq: int
    doc_id: str
    rev: str
    deleted: bool


def changes_since(instance: Instance, since: int, limit: int, *, deleted: bool = True,
                  trashed: bool = True) -> list[Change]:
    """Up to ``limit`` changes after ``since``, in order: two index range scans."""
    alive = Node.objects.filter(instance=instance, seq__gt=since)
    if not trashed:
        alive = alive.filter(trashed=False)
    rows = alive.order_by("seq").values_list("seq", "doc_id", "revision", "md5")[:limit]
    found = [Change(seq, doc_id, f"{revision}-{md5 or 'dir'}", False) for seq, doc_id, revision, md5 in rows]
    if deleted:
        gone = Tombstone.objects.filter(instance=instance, seq__gt=since).order_by("seq")[:limit]
        found += [Change(seq, doc_id, f"{seq}-deleted", True) for seq, doc_id in gone.values_list("seq", "doc_id")]
    return sorted(found, key=lambda c: c.seq)[:limit]


def pending_after(instance: Instance, seq: int, *, deleted: bool = True, trashed: bool = True) -> int:
    alive = Node.objects.filter(instance=instance, seq__gt=seq)
    if not trashed:
        alive = alive.filter(trashed=False)
    count = alive.count()
    if deleted:
        count += Tombstone.objects.filter(instance=instance, seq__gt=seq).count()
    return count


def last_seq(instance: Instance) -> int:
    return Sequence.objects.filter(instance=instance).values_list("last", flat=True).first() or 0
