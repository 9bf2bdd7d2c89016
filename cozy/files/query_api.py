"""Read routes that cozy clients use to look files up: by path, by Mango query
(POST /files/_find), by ids (_all_docs), all of them (_normal_docs)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest
from ninja import Query, Router

from cozy.files.errors import NotFound
from cozy.files.jsonapi import Document
from cozy.files.listing import node_document
from cozy.files.responses import ERRORS, jsonapi
from cozy.files.tree import node_by_path

router = Router(tags=["files"])


@router.get("/files/metadata", response={200: Document, **ERRORS}, summary="Metadata of the file or directory at Path")
def metadata_by_path(request: HttpRequest, Path: str = Query(..., max_length=4096),
                     limit: int = Query(100, alias="page[limit]", ge=1, le=1000),
                     cursor: str = Query("", alias="page[cursor]", max_length=255)):
    node = node_by_path(request.auth, Path)
    if node is None:
        raise NotFound("no such file or directory")
    return jsonapi(node_document(node, limit, cursor, "/files/metadata?" + urlencode({"Path": Path})))
