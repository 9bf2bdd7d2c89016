"""A node's document as GET /files/{id} and GET /files/metadata answer it: a file with
its versions, a directory with one page of its children (by name)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from cozy.files.jsonapi import DOCTYPE, file_document, node_resource
from cozy.files.models import Node


def node_document(node: Node, limit: int, cursor: str, next_url: str) -> dict[str, Any]:
    """``next_url`` is the route itself, with its own query, for ``links.next``."""
    if not node.is_dir:
        return file_document(node)
    children_qs = Node.objects.filter(parent=node).select_related("parent").order_by("name")
    children_qs = children_qs.prefetch_related("references")
    total = children_qs.count()
    if cursor:
        children_qs = children_qs.filter(name__gt=cursor)
    children = list(children_qs[: limit + 1])
    more, children = len(children) > limit, children[:limit]
    paths: dict[int, str] = {}
    data = node_resource(node)
    data["relationships"] = {
        **data.get("relationships", {}),
        "contents": {"data": [{"type": DOCTYPE, "id": c.doc_id} for c in children]},
    }
    links: dict[str, str | None] = {"next": None}
    if more:
        sep = "&" if "?" in next_url else "?"
        links["next"] = next_url + sep + urlencode({"page[limit]": limit, "page[cursor]": children[-1].name})
    return {"data": data, "included": [node_resource(c, paths=paths) for c in children], "links": links,
            "meta": {"count": total}}
