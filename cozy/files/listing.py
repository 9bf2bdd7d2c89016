"""A node's document as GET /files/{id} and GET /files/metadata answer it: a file with
its versions, a directory with one page of its children (by name).

A page costs three queries whatever its size (its rows, their references, the count;
no count when the first page holds every child), read as tuples (cozy.files.rows).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from cozy.files.jsonapi import DOCTYPE, dir_path, file_document, node_resource, resource
from cozy.files.models import Node
from cozy.files.rows import node_rows, references_of


def node_document(node: Node, limit: int, cursor: str, next_url: str) -> dict[str, Any]:
    """``next_url`` is the route itself, with its own query, for ``links.next``."""
    if not node.is_dir:
        return file_document(node)
    children_qs = Node.objects.filter(parent=node).order_by("name")
    page = children_qs.filter(name__gt=cursor) if cursor else children_qs
    children = node_rows(page[: limit + 1])
    more, children = len(children) > limit, children[:limit]
    total = children_qs.count() if cursor or more else len(children)
    paths: dict[int, str] = {}
    data = node_resource(node, paths=paths)
    data["relationships"] = {
        **data.get("relationships", {}),
        "contents": {"data": [{"type": DOCTYPE, "id": c.doc_id} for c in children]},
    }
    links: dict[str, str | None] = {"next": None}
    if more:
        sep = "&" if "?" in next_url else "?"
        links["next"] = next_url + sep + urlencode({"page[limit]": limit, "page[cursor]": children[-1].name})
    base = dir_path(node, paths).rstrip("/") + "/"  # no query: node_resource walked up already
    refs = references_of(c.pk for c in children) if children else {}
    included = [resource(c, node.doc_id, base + c.name, refs.get(c.pk, [])) for c in children]
    return {"data": data, "included": included, "links": links, "meta": {"count": total}}
