"""The download-link routes (see links.py)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from cozy.files import content, links
from cozy.files.auth import request_instance
from cozy.files.download import stream_response
from cozy.files.names import MAX_PATH_IN_URL
from cozy.files.responses import ERRORS, jsonapi

router = Router(tags=["files"])
BINARY = {"responses": {"200": {"description": "the bytes", "content": {"application/octet-stream": {}}}}}


@router.post("/files/downloads", response={200: dict, **ERRORS},
             summary="A download link (links.related) for VersionId, Id or Path (the first given), valid for an hour")
def make_download_link(request: HttpRequest, Id: str = Query("", max_length=64),
                       Path: str = Query("", max_length=MAX_PATH_IN_URL),
                       VersionId: str = Query("", max_length=130, pattern=r"^([^/\x00]+/[^/\x00]+)?$"),
                       Filename: str = Query("", max_length=100)):
    target = links.target_for(request.auth, file_id=Id, path=Path, version_id=VersionId, filename=Filename)
    return jsonapi({"links": {"related": links.make_link(request.auth, target)}})


@router.get("/files/downloads/{secret}/{path:name}", auth=None, openapi_extra=BINARY,
            response={200: None, 206: None, 304: None, **ERRORS},
            summary="Download through a link: no credentials needed; Range, ETag, If-None-Match as a download")
def download_by_link(request: HttpRequest, secret: str, name: str):
    instance = request_instance(request)
    target = links.resolve(instance, secret)
    return stream_response(
        request, store=content.files_store(instance), name=content.content_name(target.node.doc_id, target.content_id),
        size=target.size, md5=target.md5, mime=target.mime or "application/octet-stream", filename=target.filename,
    )
