"""JSON:API documents in cozy-stack's shape, and their schemas for OpenAPI."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from ninja import Schema
from ninja.renderers import JSONRenderer
from pydantic import ConfigDict, Field, WithJsonSchema

from cozy.files.events import link_providers
from cozy.files.models import Node, Version
from cozy.files.names import NAME_SCHEMA, mime_class
from cozy.files.tree import fullpath

JSONAPI = "application/vnd.api+json"
DOCTYPE = "io.cozy.files"
VERSION_DOCTYPE = "io.cozy.files.versions"


def b64_md5(hex_md5: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_md5)).decode() if hex_md5 else ""


def node_attributes(node: Node) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "type": node.type,
        "name": node.name,
        "dir_id": node.parent.doc_id if node.parent else "",
        "created_at": node.created_at.isoformat(),
        "updated_at": node.updated_at.isoformat(),
        "trashed": node.trashed,
    }
    if node.is_dir:
        attrs["path"] = fullpath(node)
    else:
        attrs.update(size=str(node.size), md5sum=b64_md5(node.md5), mime=node.mime, **{"class": mime_class(node.mime)})
    if node.trashed and node.restore_path:
        attrs["restore_path"] = node.restore_path
    return attrs


def node_resource(node: Node, *, with_versions: bool = False) -> dict[str, Any]:
    res: dict[str, Any] = {
        "type": DOCTYPE,
        "id": node.doc_id,
        "attributes": node_attributes(node),
        "meta": {"rev": node.rev},
        "links": {"self": f"/files/{node.doc_id}"},
    }
    if node.parent:
        res["relationships"] = {"parent": {"data": {"type": DOCTYPE, "id": node.parent.doc_id}}}
    if not node.is_dir:
        res["links"]["download"] = f"/files/download/{node.doc_id}"
        for provide in link_providers:
            res["links"].update(provide(node))
        if with_versions:
            refs = [{"type": VERSION_DOCTYPE, "id": v.version_id} for v in node.versions.all()]
            res.setdefault("relationships", {})["old_versions"] = {"data": refs}
    return res


def version_resource(version: Version) -> dict[str, Any]:
    return {
        "type": VERSION_DOCTYPE,
        "id": version.version_id,
        "attributes": {
            "file_id": version.file.doc_id,
            "size": str(version.size),
            "md5sum": b64_md5(version.md5),
            "mime": version.mime,
            "updated_at": version.created_at.isoformat(),
        },
        "links": {"download": f"/files/download/{version.file.doc_id}/{version.version_id}"},
    }


def file_document(node: Node) -> dict[str, Any]:
    doc: dict[str, Any] = {"data": node_resource(node, with_versions=not node.is_dir)}
    if not node.is_dir:
        doc["included"] = [version_resource(v) for v in node.versions.all()]
    return doc


# -- schemas (for the OpenAPI document) ---------------------------------------
class ErrorObject(Schema):
    status: str
    title: str
    detail: str


class ErrorDocument(Schema):
    errors: list[ErrorObject]


class Resource(Schema):
    type: str
    id: str
    attributes: dict[str, Any]
    meta: dict[str, Any] | None = None
    links: dict[str, str] | None = None
    relationships: dict[str, Any] | None = None


class Document(Schema):
    data: Resource
    included: list[Resource] | None = None
    links: dict[str, str | None] | None = None
    meta: dict[str, Any] | None = None


class JsonApiRenderer(JSONRenderer):
    """Declares (and sends) the media type every handler answers with, errors included."""

    media_type = JSONAPI


class PatchAttributes(Schema):
    # What the handler accepts: a name, a dir_id or both, nothing else (the schema says so too).
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})
    name: Annotated[str | None, WithJsonSchema(NAME_SCHEMA)] = None
    dir_id: Annotated[str | None, Field(min_length=1)] = None


class PatchData(Schema):
    type: str | None = None
    id: str | None = None
    attributes: PatchAttributes


class PatchDocument(Schema):
    data: PatchData


class Count(Schema):
    meta: dict[str, int]
