"""``POST /files/_find``: cozy-stack's Mango query route, for the subset the Drive needs.

Accepted: a ``selector`` on ``type`` and ``trashed`` (equality), and on
``name`` either equality or ``$regex`` with a literal (escaped) text, case
folded with a leading ``(?i)`` (what a search box sends: a regex made from
user text is matched as a plain substring, never run as a regex);
``sort`` on one of ``name`` or ``updated_at``; ``limit`` up to 100 and
``skip``. Anything else is a 400 saying what is not supported, so a client
never gets a silently different answer.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from django.http import JsonResponse
from ninja import NinjaAPI, Schema
from pydantic import ConfigDict, Field, WithJsonSchema

from cozy.files.auth import AuthedRequest
from cozy.files.errors import BadRequest
from cozy.files.jsonapi import node_resource
from cozy.files.models import ROOT_ID, TRASH_ID, Node
from cozy.files.tree import descendants, fullpath, get_node

JSONAPI = "application/vnd.api+json"
MAX_LIMIT = 100
SORTABLE = {"name", "updated_at"}


# A regex that is only a literal text: no syntax character unescaped, and a backslash only before
# one of those or one that Python's re.escape or JavaScript's usual escaping adds.
_LITERAL = r"(?:[^.*+?^${}()|\[\]\\]|\\[.*+?^${}()|\[\]\\/ #&~-])+"
LITERAL = re.compile(_LITERAL)
_DIRECTION = {"type": "string", "enum": ["asc", "desc"]}
# The schemas say exactly what the handler accepts (schemathesis checks both ways).
SELECTOR_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "type": {"type": "string", "enum": ["file", "directory"]},
        "trashed": {"type": "boolean"},
        "name": {"anyOf": [
            {"type": "string"},
            {"type": "object", "additionalProperties": False, "minProperties": 1, "maxProperties": 1,
             "properties": {"$eq": {"type": "string"},
                            "$regex": {"type": "string", "pattern": f"^(\\(\\?i\\))?{_LITERAL}$"}}},
        ]},
    },
}
SORT_SCHEMA = {
    "type": "array", "maxItems": 1,
    "items": {"type": "object", "additionalProperties": False, "minProperties": 1, "maxProperties": 1,
              "properties": {"name": _DIRECTION, "updated_at": _DIRECTION}},
}


class FindQuery(Schema):
    model_config = ConfigDict(extra="forbid")
    selector: Annotated[dict[str, Any], WithJsonSchema(SELECTOR_SCHEMA)] = Field(default_factory=dict)
    sort: Annotated[list[dict[str, Any]], WithJsonSchema(SORT_SCHEMA)] = Field(default_factory=list)
    limit: int = Field(30, ge=1, le=MAX_LIMIT)
    skip: int = Field(0, ge=0, le=10_000)


def literal_of(pattern: str) -> str:
    """The text of a regex that is only an escaped literal; anything else is refused."""
    if not LITERAL.fullmatch(pattern):
        raise BadRequest("$regex on name: only an escaped literal text, with an optional leading (?i)")
    return re.sub(r"\\(.)", r"\1", pattern)


def name_filter(qs, condition: Any):
    if isinstance(condition, str):
        return qs.filter(name=condition)
    if not isinstance(condition, dict) or set(condition) - {"$eq", "$regex"} or len(condition) != 1 \
            or not all(isinstance(v, str) for v in condition.values()):
        raise BadRequest("name: only a text, {'$eq': text} or {'$regex': '(?i)escaped text'}")
    if "$eq" in condition:
        return qs.filter(name=condition["$eq"])
    pattern = condition["$regex"]
    folded = pattern.startswith("(?i)")
    text = literal_of(pattern.removeprefix("(?i)"))
    # (SQLite's LIKE folds case: a case-kept match goes as a regex of the escaped text)
    return qs.filter(name__icontains=text) if folded else qs.filter(name__regex=re.escape(text))


def apply_selector(qs, instance, selector: dict[str, Any]):
    unknown = set(selector) - {"type", "trashed", "name"}
    if unknown:
        raise BadRequest(f"selector: not supported here: {', '.join(sorted(unknown))[:100]}")
    if "type" in selector:
        if not isinstance(selector["type"], str) or selector["type"] not in ("file", "directory"):
            raise BadRequest("type: 'file' or 'directory'")
        qs = qs.filter(type=selector["type"])
    in_trash = [n.pk for n in descendants(get_node(instance, TRASH_ID))]
    if selector.get("trashed") is True:
        qs = qs.filter(pk__in=in_trash)
    elif selector.get("trashed", False) is False:
        qs = qs.exclude(pk__in=in_trash)  # the default: what the Drive shows
    else:
        raise BadRequest("trashed: true or false")
    if "name" in selector:
        qs = name_filter(qs, selector["name"])
    return qs


def find(request: AuthedRequest, body: FindQuery):
    instance = request.auth
    qs = Node.objects.filter(instance=instance).exclude(doc_id__in=(ROOT_ID, TRASH_ID)).select_related("parent")
    qs = apply_selector(qs, instance, body.selector)
    order = ["name"]
    if len(body.sort) > 1:
        raise BadRequest("sort: one key at most")
    if body.sort:
        ((field, direction),) = body.sort[0].items() if len(body.sort[0]) == 1 else ((None, None),)
        if field not in SORTABLE or not isinstance(direction, str) or direction not in ("asc", "desc"):
            raise BadRequest("sort: one of name or updated_at, asc or desc")
        order = [f"-{field}" if direction == "desc" else field, "pk"]
    total = qs.count()
    nodes = list(qs.order_by(*order)[body.skip : body.skip + body.limit])
    doc = {"data": [with_folder(n) for n in nodes], "meta": {"count": total},
           "links": {"next": None}}
    return JsonResponse(doc, content_type=JSONAPI)


def with_folder(node: Node) -> dict[str, Any]:
    """The resource, and in its meta the path of the folder it is in (a search result says where)."""
    res = node_resource(node)
    res["meta"]["dir_path"] = fullpath(node.parent) if node.parent else ""
    return res


def register(api: NinjaAPI, errors: dict) -> None:
    api.post("/files/_find", response={200: dict, **errors},
             summary="Find files by type, trashed and name (a subset of cozy-stack's Mango queries)")(find)
