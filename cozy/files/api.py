"""The files API: cozy-stack's ``/files`` routes and JSON:API shape, on django-ninja.

django-ninja generates the OpenAPI document (served at /api/openapi.json)
from these declarations; the handlers return Django responses themselves so
that uploads and downloads stream.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Annotated, Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DataError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from ninja import Query
from ninja.errors import AuthenticationError, HttpError, ValidationError
from pydantic import WithJsonSchema

import cozy.files.routing  # noqa: F401 - registers the docid converter used below
from cozy.files import archive, content, disk_usage, mango_schema, trash
from cozy.files.attributes import patch_node
from cozy.files.auth import InstanceAuth
from cozy.files.body import body_upload
from cozy.files.download import stream_response
from cozy.files.errors import APIError, BadRequest, NotFound, error_response
from cozy.files.jsonapi import (
    JSONAPI,
    Document,
    JsonApiRenderer,
    PatchDocument,
    file_document,
)
from cozy.files.listing import node_document
from cozy.files.models import Node, Version
from cozy.files.names import NAME_SCHEMA
from cozy.files.parser import StrictAPI, declare_text_rule
from cozy.files.responses import ERRORS, ID_ERRORS, DocId
from cozy.files.text import body_error_detail
from cozy.files.tree import get_node
from cozy.files.upload_params import creation_fields, overwrite_fields

log = logging.getLogger(__name__)
_BINARY_SCHEMA = {"schema": {"type": "string", "format": "binary"}}
RAW_BODY = {"requestBody": {"content": {"application/octet-stream": _BINARY_SCHEMA}}}
_BYTES = {"content": {"*/*": _BINARY_SCHEMA}}  # sent with the file's own type
BINARY = {"responses": {200: {"description": "the bytes", **_BYTES}, 206: {"description": "a range", **_BYTES}}}
# Declared exactly (the handler checks them itself, with its own messages).
TypeParam = Annotated[str, WithJsonSchema({"type": "string", "enum": ["file", "directory"]})]
NameParam = Annotated[str, WithJsonSchema(NAME_SCHEMA)]

class FilesAPI(StrictAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        mango = mango_schema.components()
        declare_text_rule(mango)
        schema.setdefault("components", {}).setdefault("schemas", {}).update(mango)
        return schema


api = FilesAPI(
    title="cozy files API",
    version="1",
    urls_namespace="files-api",
    openapi_url="api/openapi.json",
    docs_url=None,
    auth=InstanceAuth(),
    renderer=JsonApiRenderer(),
)


def jsonapi(doc: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(doc, status=status, content_type=JSONAPI)


@api.exception_handler(APIError)
def on_api_error(request: HttpRequest, exc: APIError) -> HttpResponse:
    response = error_response(exc.status, exc.title, exc.detail)
    for name, value in getattr(exc, "headers", {}).items():  # Retry-After of a 429
        response[name] = value
    return response


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    where = ", ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors[:3])
    return error_response(400, "Bad Request", f"invalid request parameters: {where}")


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(401, "Unauthorized", "log in or send a bearer token")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja's own, titled as the status; a body the parser refused says why
    detail = body_error_detail(exc.__cause__) if exc.__cause__ is not None else str(exc.message)
    return error_response(exc.status_code, _phrase(exc.status_code), detail)


@api.exception_handler(Http404)
def on_http404(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(404, "Not Found", "no such resource")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


@api.exception_handler(FileNotFoundError)
def on_missing(request: HttpRequest, exc: FileNotFoundError) -> HttpResponse:
    return error_response(404, "Not Found", "the content is missing from the store")


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    if isinstance(exc, RequestDataTooBig):  # Django's cap on bodies read whole (JSON documents)
        return error_response(413, "Payload Too Large", "the request body is too large for this route")
    if isinstance(exc, SuspiciousOperation):  # Django refuses to read the request (too many fields...)
        return error_response(400, "Bad Request", "the request cannot be read")
    if isinstance(exc, DataError):  # a value the database refuses to compare or store (a NUL in an id)
        return error_response(400, "Bad Request", "a value in the request has characters that cannot be used")
    if isinstance(exc, OperationalError):  # a lock timeout or deadlock: the request can simply be retried
        log.warning("database busy on %s: %s", request.method, type(exc).__name__)
        return error_response(503, "Service Unavailable", "the server is busy, try again")
    if isinstance(exc, OSError):  # the object store or the network
        log.warning("storage error on %s: %s", request.method, type(exc).__name__)
        return error_response(503, "Service Unavailable", "the object storage is unavailable, try again later")
    log.error("unexpected error on %s %s: %s", request.method, request.path, type(exc).__name__)
    return error_response(500, "Internal Server Error", "an unexpected error happened")


# -- trash (registered before /files/{id} so that "trash" is not taken for an id) --
@api.delete("/files/trash", response={200: dict, **ERRORS}, summary="Empty the trash")
def empty_trash(request: HttpRequest):
    count = trash.empty_trash(request.auth)
    return jsonapi({"meta": {"deleted": count}})


@api.post("/files/trash/{file_id}", response={200: Document, **ERRORS}, summary="Restore from the trash")
def restore(request: HttpRequest, file_id: str):
    node = trash.restore(request.auth, file_id)
    return jsonapi(file_document(node))


@api.delete("/files/trash/{file_id}", response={204: None, **ERRORS}, summary="Delete for good")
def destroy(request: HttpRequest, file_id: str):
    trash.destroy(request.auth, file_id)
    return HttpResponse(status=204)


# -- downloads -----------------------------------------------------------------
def _download(request: HttpRequest, node: Node, content_id: str, size: int, md5: str, mime: str) -> HttpResponseBase:
    return stream_response(
        request, store=content.files_store(request.auth), name=content.content_name(node.doc_id, content_id),
        size=size, md5=md5, mime=mime or "application/octet-stream", filename=node.name,
    )


@api.get("/files/download/{file_id}", response={200: None, 206: None, 304: None, **ERRORS},
         openapi_extra=BINARY, summary="Download a file (Range supported)")
def download(request: HttpRequest, file_id: str):
    node = get_node(request.auth, file_id)
    if node.is_dir:
        raise NotFound("a directory has no content to download (see POST /files/archive)")
    return _download(request, node, node.content_id, node.size, node.md5, node.mime)


@api.get("/files/download/{file_id}/{path:version_id}", response={200: None, 206: None, 304: None, **ERRORS},
         openapi_extra=BINARY, summary="Download an old version")
def download_version(request: HttpRequest, file_id: str, version_id: str):
    node = get_node(request.auth, file_id)
    content_id = version_id.removeprefix(f"{file_id}/")  # the id as cozy-stack gives it, or the bare form
    version = Version.objects.filter(file=node, content_id=content_id).first()
    if version is None:
        raise NotFound("no such version")
    return _download(request, node, version.content_id, version.size, version.md5, version.mime)


@api.post("/files/revert/{path:version_id}", response={200: Document, **ERRORS}, summary="Restore an old version")
def revert(request: HttpRequest, version_id: str):
    content_id = version_id.rpartition("/")[2]  # <file id>/<rev> or the bare form
    return jsonapi(file_document(content.revert_version(request.auth, content_id)))


# -- routes of their own modules (here: /files/{id} below would take their paths) --
archive.register(api, ERRORS)
disk_usage.register(api, ERRORS)

# -- create, read, update, trash -------------------------------------------------
# One path shape for every /files/{id} method: ninja maps each path string to one URL.
@api.post("/files/{docid:file_id}", response={201: Document, **ID_ERRORS}, openapi_extra=RAW_BODY,
          summary="Create a directory or upload a file in the directory file_id")
def create(request: HttpRequest, file_id: DocId, Type: TypeParam, Name: NameParam):
    instance, dir_id = request.auth, file_id
    if Type == "directory":
        node = content.create_directory(instance, dir_id, Name, **creation_fields(request, instance, is_file=False))
    elif Type == "file":
        fields = creation_fields(request, instance, is_file=True)
        node = content.create_file(instance, dir_id, Name, body_upload(request), **fields)
    else:
        raise BadRequest("Type must be 'file' or 'directory'")
    return jsonapi(file_document(node), 201)


@api.put("/files/{docid:file_id}", response={200: Document, **ID_ERRORS}, openapi_extra=RAW_BODY,
         summary="Replace the content of a file")
def overwrite(request: HttpRequest, file_id: DocId):
    node = content.overwrite_file(request.auth, file_id, body_upload(request), request.headers.get("If-Match"),
                                  **overwrite_fields(request, request.auth))
    return jsonapi(file_document(node))


@api.get("/files/{docid:file_id}", response={200: Document, **ID_ERRORS},
         summary="Metadata; a directory lists its children")
def metadata(request: HttpRequest, file_id: DocId, limit: int = Query(100, alias="page[limit]", ge=1, le=1000),
             cursor: str = Query("", alias="page[cursor]", max_length=255)):
    node = get_node(request.auth, file_id)
    return jsonapi(node_document(node, limit, cursor, f"/files/{node.doc_id}"))


@api.patch("/files/{docid:file_id}", response={200: Document, **ID_ERRORS},
           summary="Rename, move, tags, executable, updated_at, cozyMetadata; permanent_delete; If-Match")
def patch(request: HttpRequest, file_id: DocId, body: PatchDocument):
    return jsonapi(file_document(patch_node(request.auth, file_id, body.data.attributes,
                                            request.headers.get("If-Match"))))


@api.delete("/files/{docid:file_id}", response={200: Document, **ID_ERRORS}, summary="Put in the trash")
def to_trash(request: HttpRequest, file_id: DocId):
    return jsonapi(file_document(trash.trash(request.auth, file_id, request.headers.get("If-Match"))))



# -- routes in their own modules (registered after the ones above) ---------------
api.add_router("", "cozy.files.query_api.router")
api.add_router("", "cozy.files.links_api.router")
api.add_router("", "cozy.files.changes_api.router")
api.add_router("", "cozy.files.metadata_api.router")
api.add_router("", "cozy.files.references_api.router")
