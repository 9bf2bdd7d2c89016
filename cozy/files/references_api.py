"""References routes, as cozy-stack: /files/{id}/relationships/referenced_by and
/data/{doctype}/{id}/relationships/references (see references.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router, Schema
from pydantic import Field

from cozy.files import mango, references
from cozy.files.errors import BadRequest
from cozy.files.jsonapi import DOCTYPE, node_resource
from cozy.files.references import DOCTYPE_PATTERN
from cozy.files.responses import ERRORS, ID_ERRORS, DocId, jsonapi
from cozy.files.tree import get_node

router = Router(tags=["files"])
REFERENCED_BY = "/files/{docid:file_id}/relationships/referenced_by"
REFERENCES = "/data/{doctype}/{doc_id}/relationships/references"
PathDoctype = Annotated[str, Path(max_length=128, pattern=DOCTYPE_PATTERN)]
PathDocId = Annotated[str, Path(max_length=255)]


# What parse_refs accepts, said in the schema (and checked by it first): one {type, id} or 1 to 1000 of them.
Doctype = Annotated[str, Field(max_length=128, pattern=DOCTYPE_PATTERN)]
RefId = Annotated[str, Field(min_length=1, max_length=255)]


class RefIdentifier(Schema):
    type: Doctype
    id: RefId


class FileIdentifier(Schema):
    type: Literal["io.cozy.files"]
    id: RefId


class RelationshipBody(Schema):
    data: RefIdentifier | Annotated[list[RefIdentifier], Field(min_length=1, max_length=references.MAX_REFS)]


class FilesBody(Schema):
    data: FileIdentifier | Annotated[list[FileIdentifier], Field(min_length=1, max_length=references.MAX_REFS)]


def _as_data(body: RelationshipBody | FilesBody) -> Any:
    return [r.model_dump() for r in body.data] if isinstance(body.data, list) else body.data.model_dump()


def _refs_document(node) -> dict[str, Any]:
    refs = references.refs_of(node)
    return {"data": refs, "meta": {"rev": node.rev, "count": len(refs)}}


@router.get(REFERENCED_BY, response={200: dict, **ID_ERRORS}, summary="The documents that reference this file")
def list_referenced_by(request: HttpRequest, file_id: DocId):
    return jsonapi(_refs_document(get_node(request.auth, file_id)))


@router.post(REFERENCED_BY, response={200: dict, **ID_ERRORS}, summary="Add documents that reference this file")
def add_referenced_by(request: HttpRequest, file_id: DocId, body: RelationshipBody):
    node = references.change(request.auth, file_id, references.parse_refs(_as_data(body)), add=True)
    return jsonapi(_refs_document(node))


@router.delete(REFERENCED_BY, response={200: dict, **ID_ERRORS}, summary="Remove documents that reference this file")
def remove_referenced_by(request: HttpRequest, file_id: DocId, body: RelationshipBody):
    node = references.change(request.auth, file_id, references.parse_refs(_as_data(body)), add=False)
    return jsonapi(_refs_document(node))


def _file_ids(data: Any) -> list[str]:
    refs = references.parse_refs(data)
    if any(doctype != DOCTYPE for doctype, _ in refs):
        raise BadRequest(f"only {DOCTYPE} documents can be referenced here")
    return [doc_id for _, doc_id in refs]


@router.get(REFERENCES, response={200: dict, **ERRORS},
            summary="The files this document references (page[limit], page[cursor], sort=datetime|id)")
def list_references(request: HttpRequest, doctype: PathDoctype, doc_id: PathDocId,
                    limit: int = Query(100, alias="page[limit]", ge=1, le=1000),
                    cursor: str = Query("", alias="page[cursor]", pattern=mango.BOOKMARK_PATTERN),
                    sort: str = Query("datetime", pattern="^-?(datetime|id)$"),
                    include: str = Query("", pattern="^(files)?$")):
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
def add_references(request: HttpRequest, doctype: PathDoctype, doc_id: PathDocId, body: FilesBody):
    references.change_many(request.auth, references.check_doctype(doctype), doc_id, _file_ids(_as_data(body)), add=True)
    return HttpResponse(status=204)


@router.delete(REFERENCES, response={204: None, **ERRORS}, summary="Stop this document referencing these files")
def remove_references(request: HttpRequest, doctype: PathDoctype, doc_id: PathDocId, body: FilesBody):
    file_ids = _file_ids(_as_data(body))
    references.change_many(request.auth, references.check_doctype(doctype), doc_id, file_ids, add=False)
    return HttpResponse(status=204)
