"""References routes, as cozy-stack: /files/{id}/relationships/referenced_by and
/data/{doctype}/{id}/relationships/references (see references.py)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema

from cozy.files import mango, references
from cozy.files.errors import BadRequest
from cozy.files.jsonapi import DOCTYPE, node_resource
from cozy.files.responses import ERRORS, ID_ERRORS, DocId, jsonapi
from cozy.files.tree import get_node

router = Router(tags=["files"])
REFERENCED_BY = "/files/{docid:file_id}/relationships/referenced_by"
REFERENCES = "/data/{doctype}/{doc_id}/relationships/references"


class RelationshipBody(Schema):
    data: Any


def _refs_document(node) -> dict[str, Any]:
    refs = references.refs_of(node)
    return {"data": refs, "meta": {"rev": node.rev, "count": len(refs)}}


@router.get(REFERENCED_BY, response={200: dict, **ID_ERRORS}, summary="The documents that reference this file")
def list_referenced_by(request: HttpRequest, file_id: DocId):
    return jsonapi(_refs_document(get_node(request.auth, file_id)))


@router.post(REFERENCED_BY, response={200: dict, **ID_ERRORS}, summary="Add documents that reference this file")
def add_referenced_by(request: HttpRequest, file_id: DocId, body: RelationshipBody):
    node = references.change(request.auth, file_id, references.parse_refs(body.data), add=True)
    return jsonapi(_refs_document(node))


@router.delete(REFERENCED_BY, response={200: dict, **ID_ERRORS}, summary="Remove documents that reference this file")
def remove_referenced_by(request: HttpRequest, file_id: DocId, body: RelationshipBody):
    node = references.change(request.auth, file_id, references.parse_refs(body.data), add=False)
    return jsonapi(_refs_document(node))


def _file_ids(data: Any) -> list[str]:
    refs = references.parse_refs(data)
    if any(doctype != DOCTYPE for doctype, _ in refs):
        raise BadRequest(f"only {DOCTYPE} documents can be referenced here")
    return [doc_id for _, doc_id in refs]


@router.get(REFERENCES, response={200: dict, **ERRORS},
            summary="The files this document references (page[limit], page[cursor], sort=datetime|id)")
def list_references(request: HttpRequest, doctype: str, doc_id: str,
                    limit: int = Query(100, alias="page[limit]", ge=1, le=1000),
                    cursor: str = Query("", alias="page[cursor]", max_length=200),
                    sort: str = Query("datetime", pattern="^-?(datetime|id)$"), include: str = Query("")):
    qs = references.referencing(request.auth, references.check_doctype(doctype), doc_id)
    descending = sort.startswith("-")
    order = ["created_at", "doc_id"] if sort.endswith("datetime") else ["doc_id"]
    qs = qs.order_by(*[f"-{o}" if descending else o for o in order]).select_related("parent")
    skip = mango.decode_bookmark(cursor) if cursor else 0
    total = qs.count()
    nodes = list(qs.prefetch_related("references")[skip: skip + limit])
    doc: dict[str, Any] = {"data": [{"type": DOCTYPE, "id": n.doc_id} for n in nodes], "meta": {"count": total},
                           "links": {}}
    if include == "files":
        paths: dict[int, str] = {}
        doc["included"] = [node_resource(n, paths=paths) for n in nodes]
    if skip + len(nodes) < total:
        doc["links"]["next"] = (f"/data/{doctype}/{doc_id}/relationships/references?page[limit]={limit}"
                                f"&page[cursor]={mango.encode_bookmark(skip + len(nodes))}")
    return jsonapi(doc)


@router.post(REFERENCES, response={204: None, **ERRORS}, summary="Make this document reference these files")
def add_references(request: HttpRequest, doctype: str, doc_id: str, body: RelationshipBody):
    references.change_many(request.auth, references.check_doctype(doctype), doc_id, _file_ids(body.data), add=True)
    return HttpResponse(status=204)


@router.delete(REFERENCES, response={204: None, **ERRORS}, summary="Stop this document referencing these files")
def remove_references(request: HttpRequest, doctype: str, doc_id: str, body: RelationshipBody):
    references.change_many(request.auth, references.check_doctype(doctype), doc_id, _file_ids(body.data), add=False)
    return HttpResponse(status=204)
