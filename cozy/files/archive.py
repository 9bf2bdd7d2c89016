"""``POST /files/archive`` as in cozy-stack: files and folders as one zip, streamed while it is made.

With ``Accept: application/zip`` the answer is the zip itself; otherwise a
JSON:API document whose ``links.related`` is a short-lived download link
(``GET /files/archive/{secret}/{name}.zip``), which a browser can follow as a
plain download. The zip is made by zipstream-ng from the objects' bytes as they
are read from S3, one chunk at a time: nothing is spooled, memory stays flat
whatever the size, and Content-Length is known beforehand (stored entries).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponseBase, JsonResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from ninja import NinjaAPI, Schema
from pydantic import ConfigDict, Field, WithJsonSchema
from zipstream import ZipStream

from cozy.files.auth import AuthedRequest, request_instance
from cozy.files.content import content_name, files_store
from cozy.files.errors import JSONAPI, BadRequest, NotFound, error_response
from cozy.files.models import Node
from cozy.files.names import NAME_SCHEMA, check_name
from cozy.files.tree import descendants, dir_by_path, is_in_trash
from vfs_s3.storage import S3Storage

log = logging.getLogger(__name__)
SALT = "cozy.files.archive"
MAX_ITEMS = 1000  # ids and paths in one request
LINK_SECONDS = getattr(settings, "COZY_ARCHIVE_LINK_SECONDS", 600)


# What the handler accepts, said in the schema: ids and/or paths, at least one of them.
_ONE_OF_THEM: dict[str, Any] = {"anyOf": [{"required": ["ids"], "properties": {"ids": {"minItems": 1}}},
                          {"required": ["files"], "properties": {"files": {"minItems": 1}}}]}


class ArchiveAttributes(Schema):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_ONE_OF_THEM)
    # 60 characters: within 255 bytes of UTF-8 once ".zip" is added
    name: Annotated[str, Field(max_length=60), WithJsonSchema({**NAME_SCHEMA, "maxLength": 60})] = "archive"
    ids: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    files: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)


class ArchiveData(Schema):
    type: str | None = None
    attributes: ArchiveAttributes


class ArchiveDocument(Schema):
    data: ArchiveData


def selected_nodes(instance, ids: list[str], paths: list[str]) -> list[Node]:
    """The nodes asked for, by id or by path; anything missing or in the trash is a 404."""
    nodes = []
    for doc_id in dict.fromkeys(ids):
        node = Node.objects.filter(instance=instance, doc_id=doc_id).select_related("parent").first()
        if node is None or node.parent_id is None or node.trashed or is_in_trash(node):
            raise NotFound(f"no file or folder with id {doc_id[:64]!r}")
        nodes.append(node)
    for path in dict.fromkeys(paths):
        parent_path, _, name = path.rstrip("/").rpartition("/")
        parent = dir_by_path(instance, parent_path) if name else None
        node = Node.objects.filter(parent=parent, name=name).first() if parent is not None else None
        if node is None or node.trashed:
            raise NotFound(f"nothing at the path {path[:200]!r}")
        nodes.append(node)
    if not nodes:
        raise BadRequest("give the ids and/or paths of the files and folders to put in the archive")
    return nodes


def entries(nodes: list[Node]) -> Iterator[tuple[str, Node]]:
    """(path in the zip, node) for each selected node and everything below it."""
    for top in nodes:
        yield top.name, top
        if not top.is_dir:
            continue
        paths = {top.pk: top.name}
        for node in descendants(top):  # breadth first: a parent's path is known before its children
            paths[node.pk] = f"{paths[node.parent_id or 0]}/{node.name}"  # a descendant has a parent
            yield paths[node.pk], node


def build_zip(instance, nodes: list[Node]) -> ZipStream:
    zs = ZipStream(sized=True)  # stored entries: the total length is known before the first byte
    store = files_store(instance)
    seen: set[str] = set()
    for path, node in entries(nodes):
        if path in seen:  # two selected items with one name (from different folders): keep the first
            continue
        seen.add(path)
        if node.is_dir:
            zs.mkdir(path)
        else:
            zs.add(_lazy(store, content_name(node.doc_id, node.content_id), node.size), path, size=node.size)
    return zs


def _lazy(store: S3Storage, name: str, size: int) -> Iterator[bytes]:
    """The object's bytes, its GET sent only when the zip reaches this entry."""
    if size:
        yield from store.read(name)


def zip_response(instance, nodes: list[Node], name: str) -> StreamingHttpResponse:
    zs = build_zip(instance, nodes)
    response = StreamingHttpResponse(_logged(zs, name), content_type="application/zip")
    response["Content-Length"] = str(len(zs))
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=f"{name}.zip")
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _logged(zs: ZipStream, name: str) -> Iterator[bytes]:
    try:
        yield from zs
    except FileNotFoundError:  # headers are gone: the client sees a cut download, the log says why
        log.error("archive %r cut short: the content of a file is missing from the store (run fsck)", name[:100])
        raise


def archive_name(raw: str) -> str:
    name = check_name(raw.removesuffix(".zip") or raw)
    if len(f"{name}.zip".encode()) > 255:
        raise BadRequest("the archive name is too long")
    return name


def create_archive(request: AuthedRequest, body: ArchiveDocument) -> HttpResponseBase:
    instance, attrs = request.auth, body.data.attributes
    name = archive_name(attrs.name)
    nodes = selected_nodes(instance, attrs.ids, attrs.files)
    if "application/zip" in request.headers.get("Accept", ""):
        return zip_response(instance, nodes, name)
    secret = signing.dumps({"i": instance.pk, "ids": [n.doc_id for n in nodes]}, salt=SALT, compress=True)
    link = f"/files/archive/{secret}/{quote(name)}.zip"
    doc = {"links": {"related": link},
           "data": {"type": "io.cozy.files.archives", "id": secret, "attributes": {"href": link}}}
    return JsonResponse(doc, content_type=JSONAPI)


def download_archive(request: HttpRequest, secret: str, name: str) -> HttpResponseBase:
    """The link itself grants access (as cozy-stack's secret does), for LINK_SECONDS, on its instance only."""
    instance = request_instance(request)
    try:
        data = signing.loads(secret, salt=SALT, max_age=LINK_SECONDS)
    except signing.SignatureExpired:
        return error_response(410, "Gone", "this archive link has expired: ask for a new one")
    except signing.BadSignature:
        return error_response(404, "Not Found", "no such archive")
    if data.get("i") != instance.pk:
        return error_response(404, "Not Found", "no such archive")
    return zip_response(instance, selected_nodes(instance, data["ids"], []), archive_name(name))


def register(api: NinjaAPI, errors: dict) -> None:
    """Add the routes; called by cozy.files.api before /files/{id}, which would take these paths."""
    zipped = {"responses": {200: {"description": "the zip", "content": {"application/zip": {"schema": {
        "type": "string", "format": "binary"}}}}}}
    api.post("/files/archive", response={200: dict, **errors}, openapi_extra=zipped,
             summary="A zip of files and folders (streamed with Accept: application/zip, else a link)")(create_archive)
    api.get("/files/archive/{secret}/{name}", response={200: None, **errors}, auth=None, openapi_extra=zipped,
            summary="Download an archive by its link")(download_archive)
