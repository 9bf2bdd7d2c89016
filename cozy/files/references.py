"""References between files and other documents (cozy-stack's ``referenced_by``):
an album names its photos, a konnector its bills. Stored in the index; every
change is a new revision of the file (and a change in the feed)."""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from cozy.files.errors import BadRequest, NotFound
from cozy.files.models import Node, Reference
from cozy.files.tree import get_node, lock_tree
from cozy.instances.models import Instance

MAX_REFS = 1000
DOCTYPE_PATTERN = r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$"
_DOCTYPE = re.compile(DOCTYPE_PATTERN)


def check_doctype(doctype: str) -> str:
    if len(doctype) > 128 or not _DOCTYPE.fullmatch(doctype):
        raise BadRequest("a doctype is like io.cozy.photos.albums")
    return doctype


def parse_refs(data: Any) -> list[tuple[str, str]]:
    """The JSON:API ``data`` of a relationship: one {type, id} or a list of them."""
    items = data if isinstance(data, list) else [data]
    if not items or len(items) > MAX_REFS:
        raise BadRequest(f"give 1 to {MAX_REFS} references in data")
    refs = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("type"), str) or not isinstance(item.get("id"), str):
            raise BadRequest("each reference is {type, id}")
        if not item["id"] or len(item["id"]) > 255:
            raise BadRequest("a reference id has 1 to 255 characters")
        refs.append((check_doctype(item["type"]), item["id"]))
    return list(dict.fromkeys(refs))


def refs_of(node: Node) -> list[dict[str, str]]:
    """In the order they were added, as cozy-stack's array (sorted here: prefetched rows come
    in whatever order the database reads them, by an index on SQLite, by insertion on PostgreSQL)."""
    return [{"type": r.doctype, "id": r.doc_id} for r in sorted(node.references.all(), key=_added)]


def _added(ref: Reference) -> int:
    return ref.pk


def change(instance: Instance, file_id: str, refs: list[tuple[str, str]], *, add: bool) -> Node:
    with transaction.atomic():
        lock_tree(instance)
        node = get_node(instance, file_id, for_update=True)
        _apply(node, refs, add=add)
        node.save()
    return node


def _apply(node: Node, refs: list[tuple[str, str]], *, add: bool) -> None:
    if add:
        existing = set(node.references.values_list("doctype", "doc_id"))
        try:
            Reference.objects.bulk_create([Reference(node=node, doctype=t, doc_id=i) for t, i in refs
                                           if (t, i) not in existing])
        except IntegrityError:  # cannot happen under the tree lock; kept as a clean 409 if it does
            raise BadRequest("a reference was added concurrently, try again") from None
    else:
        q = Q(pk__in=[])
        for doctype, doc_id in refs:
            q |= Q(doctype=doctype, doc_id=doc_id)
        node.references.filter(q).delete()


def change_many(instance: Instance, doctype: str, doc_id: str, file_ids: list[str], *, add: bool) -> int:
    """POST/DELETE /data/{doctype}/{id}/relationships/references: many files, one document."""
    with transaction.atomic():
        lock_tree(instance)
        nodes = list(Node.objects.select_for_update().filter(instance=instance, doc_id__in=file_ids))
        if len(nodes) != len(set(file_ids)):
            raise NotFound("no such file")
        for node in nodes:
            _apply(node, [(doctype, doc_id)], add=add)
            node.save()
    return len(nodes)


def referencing(instance: Instance, doctype: str, doc_id: str) -> QuerySet[Node]:
    """The files that this document references (one index lookup, no duplicates)."""
    refs = Reference.objects.filter(node=OuterRef("pk"), doctype=doctype, doc_id=doc_id)
    return Node.objects.filter(Exists(refs), instance=instance)
