"""Read routes that cozy clients use to look files up: by path, by Mango query
(POST /files/_find), by ids (_all_docs), all of them (_normal_docs)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field as PydanticField

from cozy.files import mango, mango_schema
from cozy.files.errors import BadRequest, NotFound
from cozy.files.jsonapi import Document, node_resource
from cozy.files.listing import node_document
from cozy.files.mango import DEFAULT_LIMIT, MAX_LIMIT
from cozy.files.models import Node
from cozy.files.names import MAX_PATH_IN_URL
from cozy.files.responses import ERRORS, jsonapi
from cozy.files.tree import node_by_path

router = Router(tags=["files"])
MAX_SKIP = 10**9
# keys: a JSON array of ids, as CouchDB takes it, in the form the schema can say exactly (no
# spaces, no escapes; ids are printable ASCII), short enough for the URL in any encoding.
_KEY = r'"[!#-\[\]-~]*"'
KEYS_PATTERN = rf"^(\[({_KEY}(,{_KEY})*)?\])?$"


@router.get("/files/metadata", response={200: Document, **ERRORS}, summary="Metadata of the file or directory at Path")
def metadata_by_path(request: HttpRequest, Path: str = Query(..., max_length=MAX_PATH_IN_URL),
                     limit: int = Query(100, alias="page[limit]", ge=1, le=1000),
                     cursor: str = Query("", alias="page[cursor]", max_length=255)):
    node = node_by_path(request.auth, Path)
    if node is None:
        raise NotFound("no such file or directory")
    return jsonapi(node_document(node, limit, cursor, "/files/metadata?" + urlencode({"Path": Path})))


# Declared exactly by cozy.files.mango_schema (in the document's components: it is recursive);
# read here and checked by mango.parse, which names what it refuses.
MANGO_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": mango_schema.REF + "MangoQuery"}}}}}


class AllDocsBody(Schema):
    keys: list[str] = PydanticField(..., max_length=MAX_LIMIT)


def _json_body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError; RecursionError: nested too deep
        raise BadRequest("the body must be a JSON object with a selector") from None


def _instance_nodes(instance) -> QuerySet[Node]:
    return Node.objects.filter(instance=instance).select_related("parent").prefetch_related("references")


def _project(resource: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    if fields is not None:
        keep = set(fields)
        resource["attributes"] = {k: v for k, v in resource["attributes"].items() if k in keep}
    return resource


@router.post("/files/_find", response={200: dict, **ERRORS}, openapi_extra=MANGO_BODY,
             summary="Mango query on files: selector, sort, limit, skip, bookmark, fields")
def find(request: HttpRequest):
    query = mango.parse(_json_body(request), scope=request.auth.pk)
    base = Node.objects.select_related("parent").prefetch_related("references")
    qs = (base if query.in_scope_dirs else _instance_nodes(request.auth)).filter(query.where).order_by(*query.order)
    total = qs.count()
    nodes = list(qs[query.skip: query.skip + query.limit])
    paths: dict[int, str] = {}
    doc: dict[str, Any] = {
        "data": [_project(node_resource(n, paths=paths), query.fields) for n in nodes],
        "meta": {"count": total},
        "links": {},
    }
    if query.skip + len(nodes) < total:
        bookmark = mango.encode_bookmark(query.skip + len(nodes))
        doc["links"]["next"] = "/files/_find?" + urlencode({"page[cursor]": bookmark})
        doc["bookmark"] = bookmark
    return jsonapi(doc)


@router.post("/files/_all_docs", response={200: dict, **ERRORS}, summary="The files with these ids")
def all_docs_by_keys(request: HttpRequest, body: AllDocsBody):
    by_id = {n.doc_id: n for n in _instance_nodes(request.auth).filter(doc_id__in=body.keys)}
    paths: dict[int, str] = {}
    return jsonapi({"data": [node_resource(by_id[k], paths=paths) for k in dict.fromkeys(body.keys) if k in by_id]})


def couch_doc(node: Node, paths: dict[int, str]) -> dict[str, Any]:
    """The document as CouchDB would hold it (what /data/ routes answer)."""
    res = node_resource(node, paths=paths)
    doc = {"_id": res["id"], "_rev": res["meta"]["rev"], **res["attributes"]}
    if refs := res.get("relationships", {}).get("referenced_by"):
        doc["referenced_by"] = refs["data"]
    return doc


@router.get("/data/io.cozy.files/_all_docs", response={200: dict, **ERRORS}, summary="Files as CouchDB rows")
def all_docs(request: HttpRequest, include_docs: bool = False,
             wanted_ids: str = Query("", alias="keys", max_length=2600, pattern=KEYS_PATTERN),
             limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT), skip: int = Query(0, ge=0, le=MAX_SKIP)):
    qs = _instance_nodes(request.auth).order_by("doc_id")
    total = qs.count()
    if wanted_ids:
        try:
            wanted = json.loads(wanted_ids)
        except ValueError:
            raise BadRequest("keys must be a JSON array of ids") from None
        if not isinstance(wanted, list) or not all(isinstance(k, str) for k in wanted):
            raise BadRequest("keys must be a JSON array of ids")
        nodes = list(qs.filter(doc_id__in=wanted[:MAX_LIMIT]))
    else:
        nodes = list(qs[skip: skip + limit])
    paths: dict[int, str] = {}
    rows = []
    for node in nodes:
        row: dict[str, Any] = {"id": node.doc_id, "key": node.doc_id, "value": {"rev": node.rev}}
        if include_docs:
            row["doc"] = couch_doc(node, paths)
        rows.append(row)
    return jsonapi({"total_rows": total, "offset": 0 if wanted_ids else skip, "rows": rows})


@router.get("/data/io.cozy.files/_normal_docs", response={200: dict, **ERRORS},
            summary="Files as CouchDB documents, by page")
def normal_docs(request: HttpRequest, limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
                skip: int = Query(0, ge=0, le=MAX_SKIP), bookmark: str = Query("", pattern=mango.BOOKMARK_PATTERN)):
    if bookmark:
        skip = mango.decode_bookmark(bookmark)
    qs = _instance_nodes(request.auth).order_by("doc_id")
    total = qs.count()
    nodes = list(qs[skip: skip + limit])
    paths: dict[int, str] = {}
    doc: dict[str, Any] = {"rows": [couch_doc(n, paths) for n in nodes], "total_rows": total}
    if skip + len(nodes) < total:
        doc["bookmark"] = mango.encode_bookmark(skip + len(nodes))
    return jsonapi(doc)
