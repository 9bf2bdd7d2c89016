"""Index rows read as plain tuples, for documents of many nodes at once (a listing).

A page of 1,000 children as ``Node`` instances costs more in the ORM (a model and its
related-object caches per row, a prefetch queryset per row) than everything else the
page does; as tuples it costs the query. A ``NodeRow`` has the ``Node`` attributes a
document reads, with the same names, so the document code takes either.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from django.db.models import QuerySet

from cozy.files.models import Node, Reference


class NodeRow(NamedTuple):
    pk: int
    instance_id: int
    doc_id: str
    type: str
    name: str
    trashed: bool
    restore_path: str
    created_at: datetime
    updated_at: datetime
    size: int
    md5: str
    mime: str
    content_id: str
    revision: int
    tags: list[str]
    executable: bool
    cozy_metadata: dict[str, Any]
    metadata: dict[str, Any]

    @property
    def is_dir(self) -> bool:
        return self.type == Node.Type.DIRECTORY

    @property
    def rev(self) -> str:  # as Node.rev
        return f"{self.revision}-{self.md5 or 'dir'}"


def node_rows(qs: QuerySet[Node]) -> list[NodeRow]:
    return [NodeRow._make(values) for values in qs.values_list(*NodeRow._fields)]


def references_of(pks: Iterable[int]) -> dict[int, list[dict[str, str]]]:
    """The ``referenced_by`` data of these nodes, in one query, in the order added (as
    ``cozy.files.references.refs_of``); nodes without any are absent."""
    refs: defaultdict[int, list[dict[str, str]]] = defaultdict(list)
    wanted = Reference.objects.filter(node_id__in=list(pks)).order_by("pk")
    for node_id, doctype, doc_id in wanted.values_list("node_id", "doctype", "doc_id"):
        refs[node_id].append({"type": doctype, "id": doc_id})
    return refs
