"""JSON:API documents in cozy-stack's shape, and their schemas for OpenAPI."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.db.models import prefetch_related_objects
from ninja import Schema
from ninja.renderers import JSONRenderer
from pydantic import AwareDatetime, ConfigDict, Field, WithJsonSchema

from cozy.files.errors import JSONAPI
from cozy.files.events import link_providers
from cozy.files.md5s import b64_md5
from cozy.files.models import ROOT_ID, Node, Version
from cozy.files.names import NAME_SCHEMA, mime_class
from cozy.files.references import refs_of
from cozy.files.rows import NodeRow

DOCTYPE = "io.cozy.files"
VERSION_DOCTYPE = "io.cozy.files.versions"
AnyNode = Node | NodeRow  # what a document is made from: the model, or a listing's row


def node_path(node: Node, paths: dict[int, str] | None = None) -> str:
    """The node's path; ``paths`` caches directory paths by pk across one response, so a
    page of documents costs one query per directory not seen yet (none for the parents
    that select_related loaded, when their own parent is known)."""
    if node.doc_id == ROOT_ID:
        return "/"
    if node.parent is None:
        return "/" + node.name
    paths = {} if paths is None else paths
    return _join(dir_path(node.parent, paths), node.name)


def _join(parent: str, name: str) -> str:
    return parent.rstrip("/") + "/" + name


def dir_path(directory: Node, paths: dict[int, str]) -> str:
    """Walk up to a cached directory or the root (a query per unknown parent), then down,
    caching every directory on the way. An orphan or a cycle (a damaged index) stops the walk."""
    chain: list[Node] = []
    current = directory
    while True:
        if current.pk in paths:
            base = paths[current.pk]
            break
        if current.doc_id == ROOT_ID:
            base = paths[current.pk] = "/"
            break
        if any(c.pk == current.pk for c in chain):
            base = "/"
            break
        chain.append(current)
        if current.parent_id in paths:
            base = paths[current.parent_id]
            break
        parent = None if current.parent_id is None else (
            Node.objects.only("pk", "doc_id", "name", "parent_id").filter(pk=current.parent_id).first())
        if parent is None:
            base = "/"
            break
        current = parent
    for node in reversed(chain):
        base = paths[node.pk] = _join(base, node.name)
    return base


def cozy_metadata(node: AnyNode, created: str | None = None, updated: str | None = None) -> dict[str, Any]:
    """What clients stored, with the dates the server keeps (``created`` and ``updated``:
    the node's dates in ISO form, when the caller has them already)."""
    created = created or node.created_at.isoformat()
    meta = {"doctypeVersion": "1", "metadataVersion": 1, **(node.cozy_metadata or {})}
    meta.setdefault("createdAt", created)
    meta["updatedAt"] = updated or node.updated_at.isoformat()
    if not node.is_dir:
        meta.setdefault("uploadedAt", created)
    return meta


def node_attributes(node: Node, paths: dict[int, str] | None = None) -> dict[str, Any]:
    return attributes(node, node.parent.doc_id if node.parent else "", node_path(node, paths))


def attributes(node: AnyNode, dir_id: str, path: str) -> dict[str, Any]:
    """A node's attributes, its parent's id and its path given."""
    created, updated = node.created_at.isoformat(), node.updated_at.isoformat()
    attrs: dict[str, Any] = {
        "type": node.type,
        "name": node.name,
        "dir_id": dir_id,
        "path": path,
        "created_at": created,
        "updated_at": updated,
        "trashed": node.trashed,
        "tags": list(node.tags or []),
        "cozyMetadata": cozy_metadata(node, created, updated),
    }
    if not node.is_dir:
        attrs.update(size=str(node.size), md5sum=b64_md5(node.md5), mime=node.mime, **{"class": mime_class(node.mime)},
                     executable=node.executable, encrypted=False)
        if node.metadata:
            attrs["metadata"] = node.metadata
    if node.trashed and node.restore_path:
        attrs["restore_path"] = node.restore_path
    return attrs


def node_resource(node: Node, *, with_versions: bool = False, paths: dict[int, str] | None = None) -> dict[str, Any]:
    refs = refs_of(node) if node.pk is not None else []
    res = resource(node, node.parent.doc_id if node.parent else "", node_path(node, paths), refs)
    if with_versions and not node.is_dir:
        versions = [{"type": VERSION_DOCTYPE, "id": version_id(v)} for v in node.versions.all()]
        res.setdefault("relationships", {})["old_versions"] = {"data": versions}
    return res


def resource(node: AnyNode, dir_id: str, path: str, refs: list[dict[str, str]]) -> dict[str, Any]:
    """A node's resource: ``dir_id`` its parent's id ("" for the root), ``refs`` its
    ``referenced_by`` data."""
    doc_id = node.doc_id
    links = {"self": f"/files/{doc_id}"}
    res: dict[str, Any] = {
        "type": DOCTYPE,
        "id": doc_id,
        "attributes": attributes(node, dir_id, path),
        "meta": {"rev": node.rev},
        "links": links,
    }
    if dir_id:
        res["relationships"] = {"parent": {"data": {"type": DOCTYPE, "id": dir_id}}}
    if refs:
        res.setdefault("relationships", {})["referenced_by"] = {"data": refs}
    if not node.is_dir:
        links["download"] = f"/files/download/{doc_id}"
        for provide in link_providers:
            links.update(provide(node))
    return res


def version_id(version: Version) -> str:
    """cozy-stack's form, ``<file id>/<rev>``: GET /files/download/<that> reads it."""
    return f"{version.file.doc_id}/{version.version_id}"


def version_resource(version: Version) -> dict[str, Any]:
    return {
        "type": VERSION_DOCTYPE,
        "id": version_id(version),
        "attributes": {
            "file_id": version.file.doc_id,
            "size": str(version.size),
            "md5sum": b64_md5(version.md5),
            "mime": version.mime,
            "updated_at": version.created_at.isoformat(),
        },
        "meta": {"rev": f"1-{version.version_id}"},
        "links": {"download": f"/files/download/{version.file.doc_id}/{version.version_id}"},
    }


def file_document(node: Node) -> dict[str, Any]:
    if not node.is_dir:
        prefetch_related_objects([node], "versions")  # one query for both uses below (none if done already)
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


MAX_TAGS = 100
Tag = Annotated[str, Field(min_length=1, max_length=255)]


class PatchAttributes(Schema):
    # What the handler accepts, nothing else (the schema says so too).
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})
    # Typed without None, default None: the schema says a value, when given, is never null
    # (an attribute set to null would change nothing, and is refused).
    name: Annotated[str, WithJsonSchema(NAME_SCHEMA)] = None  # type: ignore[assignment]
    dir_id: Annotated[str, Field(min_length=1)] = None  # type: ignore[assignment]
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)] = None  # type: ignore[assignment]
    executable: bool = None  # type: ignore[assignment]
    updated_at: AwareDatetime = None  # type: ignore[assignment]  # RFC 3339, with its offset
    permanent_delete: Literal[True] = None  # type: ignore[assignment]  # false would ask nothing
    cozyMetadata: dict[str, Any] = None  # type: ignore[assignment]


class PatchData(Schema):
    type: str | None = None
    id: str | None = None
    attributes: PatchAttributes


class PatchDocument(Schema):
    data: PatchData


class Count(Schema):
    meta: dict[str, int]
