"""POST /files/upload/metadata (an id for MetadataID), POST /files/{id}/versions
(new metadata on a file) and POST /files/{id}/copy, as cozy-stack."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Schema

from cozy.files import file_metadata
from cozy.files.copy import copy_file
from cozy.files.errors import BadRequest
from cozy.files.jsonapi import Document, file_document
from cozy.files.responses import ERRORS, ID_ERRORS, DocId, jsonapi
from cozy.files.tree import get_node, lock_tree

router = Router(tags=["files"])


class MetadataData(Schema):
    type: str | None = None
    attributes: dict[str, Any]


class MetadataDocument(Schema):
    data: MetadataData


@router.post("/files/upload/metadata", response={201: dict, **ERRORS},
             summary="Metadata to attach to the next upload: its id goes in MetadataID (valid 10 minutes)")
def upload_metadata(request: HttpRequest, body: MetadataDocument):
    attributes = file_metadata.check_metadata(body.data.attributes)
    data = {"type": file_metadata.DOCTYPE, "id": file_metadata.make_id(request.auth, attributes),
            "attributes": attributes}
    return jsonapi({"data": data}, 201)


@router.post("/files/{docid:file_id}/versions", response={200: Document, **ID_ERRORS},
             summary="Replace a file's metadata (a new revision of the same content)")
def new_metadata(request: HttpRequest, file_id: DocId, body: MetadataDocument):
    attributes = file_metadata.check_metadata(body.data.attributes)
    with transaction.atomic():
        lock_tree(request.auth)
        node = get_node(request.auth, file_id, for_update=True)
        if node.is_dir:
            raise BadRequest("a directory has no metadata versions")
        node.metadata = attributes
        node.save()
    return jsonapi(file_document(node))


@router.post("/files/{docid:file_id}/copy", response={201: Document, **ID_ERRORS},
             summary="Copy a file (a server-side copy in the store); Name and DirID optional")
def copy(request: HttpRequest, file_id: DocId, Name: str = Query("", max_length=1024),
         DirID: str = Query("", max_length=64)):
    return jsonapi(file_document(copy_file(request.auth, file_id, name=Name, dir_id=DirID)), 201)
