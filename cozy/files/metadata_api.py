"""POST /files/upload/metadata (an id for MetadataID), POST /files/{id}/versions
(new metadata on a file, its content kept as a version) and POST /files/{id}/copy, as cozy-stack."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from cozy.files import file_metadata
from cozy.files.attributes import check_tags
from cozy.files.copy import copy_file
from cozy.files.jsonapi import Document, file_document
from cozy.files.responses import ERRORS, ID_ERRORS, DocId, jsonapi
from cozy.files.versions import new_version

router = Router(tags=["files"])
# Short enough for any request line (each character may take 12 bytes percent-encoded), and
# for at most MAX_TAGS tags however they are split.
MAX_TAGS_PARAM = 200


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
             summary="A new revision with the same content and new metadata; the current content is kept "
                     "as an old version (Tags optional)")
def new_metadata(request: HttpRequest, file_id: DocId, body: MetadataDocument,
                 Tags: str = Query("", max_length=MAX_TAGS_PARAM)):
    attributes = file_metadata.check_metadata(body.data.attributes)
    tags = check_tags([t.strip() for t in Tags.split(",") if t.strip()]) if Tags else None
    return jsonapi(file_document(new_version(request.auth, file_id, attributes, tags=tags)))


@router.post("/files/{docid:file_id}/copy", response={201: Document, **ID_ERRORS},
             summary="Copy a file (a server-side copy in the store); Name and DirID optional")
def copy(request: HttpRequest, file_id: DocId, Name: str = Query("", max_length=1024),
         DirID: str = Query("", max_length=64)):
    return jsonapi(file_document(copy_file(request.auth, file_id, name=Name, dir_id=DirID)), 201)
