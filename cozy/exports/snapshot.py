"""The export's view of an instance: its settings and its whole index, read once.

The index is read in one transaction under the instance's tree lock (every tree
and content change takes it), so directories, files and versions are one
consistent snapshot. Contents are immutable objects under fresh ids: a file
changed after the snapshot is exported as it was; one whose content was deleted
meanwhile is left out together with its metadata (see archive.py).
"""

from __future__ import annotations

import sys
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from cozy.files.models import ROOT_ID, Node, Version
from cozy.files.tree import lock_tree
from cozy.instances.described import described
from cozy.instances.models import Instance

FORMAT = "cozy-export"
FORMAT_VERSION = 1
METADATA_ENTRY = "cozy-export.json"


@dataclass(slots=True)
class Content:
    """One object to copy into the archive: a file's current content or a kept version."""

    file_id: str
    content_id: str
    size: int
    md5: str
    mime: str
    entry: str  # its name in the zip
    version_of: datetime | None = None  # a kept version: its date (None: the current content)
    part: int = 0  # the zip part it went into (0: not written, or left out)


@dataclass(slots=True)
class Entry:
    """One node of the index, as the metadata describes it; a file's contents follow it in
    ``Snapshot.contents`` (current content first, then versions, oldest first)."""

    id: str
    type: str
    name: str
    dir_id: str | None
    trashed: bool
    restore_path: str
    created_at: datetime
    updated_at: datetime
    size: int
    md5: str
    mime: str
    content_id: str
    revision: int


@dataclass
class Snapshot:
    settings: dict[str, Any]
    nodes: list[Entry]  # parents before children
    contents: list[Content] = field(default_factory=list)
    apps: list[dict[str, Any]] = field(default_factory=list)  # installed apps and konnectors, with their sources


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def instance_settings(instance: Instance) -> dict[str, Any]:
    """What describes the instance to its owner; no secret, token, bucket or key prefix."""
    owner = instance.owner
    return {
        "domain": instance.domain,
        "owner": {"username": owner.get_username(), "email": getattr(owner, "email", "")},
        "context": instance.context,
        "quota_bytes": instance.quota_bytes,
        "created_at": _iso(instance.created_at),
    }


# Rows as tuples, read by chunks: model instances of every node at once would weigh several
# times as much (the worker's memory grows with the number of files).
_NODE_FIELDS = ("pk", "parent_id", "doc_id", "type", "name", "trashed", "restore_path", "created_at", "updated_at",
                "size", "md5", "mime", "content_id", "revision")  # fmt: skip
_VERSION_FIELDS = ("file_id", "content_id", "size", "md5", "mime", "created_at")
CHUNK = 2000
Row = tuple[Any, ...]


def _in_tree_order(rows: list[Row]) -> Iterator[Row]:
    """Root first, then each directory's children: an importer can create parents first."""
    children: dict[int | None, list[Row]] = defaultdict(list)
    for row in rows:
        children[row[1]].append(row)
    queue = deque(r for r in children.pop(None, []) if r[2] == ROOT_ID)
    while queue:
        row = queue.popleft()
        yield row
        queue.extend(sorted(children.pop(row[0], []), key=lambda r: r[4]))
    # unreachable nodes (a corrupt tree: fsck's job) are left out


def take(instance: Instance) -> Snapshot:
    with transaction.atomic():
        lock_tree(instance)
        rows = list(Node.objects.filter(instance=instance).values_list(*_NODE_FIELDS).iterator(chunk_size=CHUNK))
        versions: dict[int, list[Row]] = defaultdict(list)
        kept = Version.objects.filter(file__instance=instance).order_by("created_at", "id")
        for version in kept.values_list(*_VERSION_FIELDS).iterator(chunk_size=CHUNK):
            versions[version[0]].append(version)
        apps = described(instance, "apps", [])
    snapshot = Snapshot(instance_settings(instance), [], apps=apps)
    paths: dict[int, tuple[str, str]] = {}  # pk -> (doc id, path): what a child needs of its parent
    for row in _in_tree_order(rows):
        pk, parent_pk, doc_id, kind, name = row[:5]
        parent = paths.get(parent_pk) if parent_pk else None
        path = f"{parent[1]}/{name}" if parent else ""
        if kind == Node.Type.DIRECTORY:
            paths[pk] = (doc_id, path)
        trashed, restore_path, created_at, updated_at, size, md5, mime, content_id, revision = row[5:]
        # a type and a mime type are a few values over all the rows: one string each, not one a row
        entry = Entry(doc_id, sys.intern(kind), name, parent[0] if parent else None, trashed, restore_path,
                      created_at, updated_at, size, md5, sys.intern(mime), content_id, revision)  # fmt: skip
        snapshot.nodes.append(entry)
        if kind == Node.Type.FILE:
            _add_contents(snapshot.contents, entry, "files" + path, versions.pop(pk, []))
    return snapshot


def _add_contents(contents: list[Content], node: Entry, entry: str, versions: list[Row]) -> None:
    if node.content_id:
        contents.append(Content(node.id, node.content_id, node.size, node.md5, node.mime, entry))
    for _, content_id, size, md5, mime, created_at in versions:
        contents.append(Content(node.id, content_id, size, md5, mime, f"versions/{node.id}/{content_id}", created_at))


def records(snapshot: Snapshot) -> Iterator[dict[str, Any]]:
    """The metadata records of the nodes, one at a time, with where each content went; a file
    whose current content was left out goes with its versions (it was deleted after the
    snapshot); a version left out goes alone."""
    contents = iter(snapshot.contents)
    pending = next(contents, None)
    for node in snapshot.nodes:
        own: list[Content] = []
        while pending is not None and pending.file_id == node.id and node.type == Node.Type.FILE:
            own.append(pending)
            pending = next(contents, None)
        record = _node_record(node)
        if node.type != Node.Type.FILE:
            yield record
            continue
        current = own.pop(0) if node.content_id and own and own[0].version_of is None else None
        if current is not None and not current.part:
            continue
        if current is not None:
            record.update(part=current.part, entry=current.entry)
        record["versions"] = [_version_record(v) for v in own if v.part]
        yield record


def _version_record(v: Content) -> dict[str, Any]:
    return {"id": v.content_id, "size": v.size, "md5": v.md5, "mime": v.mime, "created_at": _iso(v.version_of),
            "part": v.part, "entry": v.entry}  # fmt: skip


def _node_record(node: Entry) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": node.id, "type": node.type, "name": node.name, "dir_id": node.dir_id,
        "trashed": node.trashed, "restore_path": node.restore_path,
        "created_at": _iso(node.created_at), "updated_at": _iso(node.updated_at),
    }  # fmt: skip
    if node.type == Node.Type.FILE:
        record.update(size=node.size, md5=node.md5, mime=node.mime, content_id=node.content_id,
                      revision=node.revision)  # fmt: skip
    return record
