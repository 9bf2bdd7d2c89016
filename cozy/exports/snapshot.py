"""The export's view of an instance: its settings and its whole index, read once.

The index is read in one transaction under the instance's tree lock (every tree
and content change takes it), so directories, files and versions are one
consistent snapshot. Contents are immutable objects under fresh ids: a file
changed after the snapshot is exported as it was; one whose content was deleted
meanwhile is left out together with its metadata (see archive.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from cozy.files.models import ROOT_ID, Node, Version
from cozy.files.tree import lock_tree
from cozy.instances.models import Instance

FORMAT = "cozy-export"
FORMAT_VERSION = 1
METADATA_ENTRY = "cozy-export.json"


@dataclass
class Content:
    """One object to copy into the archive: a file's current content or a kept version."""

    file_id: str
    content_id: str
    size: int
    md5: str
    mime: str
    entry: str  # its name in the zip
    record: dict[str, Any]  # the metadata record that says where it is (gets "part")


@dataclass
class Snapshot:
    settings: dict[str, Any]
    nodes: list[dict[str, Any]]  # parents before children
    contents: list[Content] = field(default_factory=list)


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


def _in_tree_order(nodes: list[Node]) -> list[Node]:
    """Root first, then each directory's children: an importer can create parents first."""
    children: dict[int | None, list[Node]] = defaultdict(list)
    for node in nodes:
        children[node.parent_id].append(node)
    ordered: list[Node] = []
    queue = [n for n in children[None] if n.doc_id == ROOT_ID]
    while queue:
        node = queue.pop(0)
        ordered.append(node)
        queue.extend(sorted(children[node.pk], key=lambda n: n.name))
    return ordered  # unreachable nodes (a corrupt tree: fsck's job) are left out


def take(instance: Instance) -> Snapshot:
    with transaction.atomic():
        lock_tree(instance)
        nodes = list(Node.objects.filter(instance=instance))
        versions: dict[int, list[Version]] = defaultdict(list)
        for version in Version.objects.filter(file__instance=instance).order_by("created_at", "id"):
            versions[version.file_id].append(version)
    by_pk = {n.pk: n for n in nodes}
    snapshot = Snapshot(instance_settings(instance), [])
    paths: dict[int, str] = {}
    for node in _in_tree_order(nodes):
        parent = by_pk.get(node.parent_id) if node.parent_id else None
        paths[node.pk] = f"{paths[parent.pk]}/{node.name}" if parent else ""
        record = _node_record(node, parent)
        snapshot.nodes.append(record)
        if node.type != Node.Type.FILE:
            continue
        if node.content_id:
            snapshot.contents.append(Content(node.doc_id, node.content_id, node.size, node.md5, node.mime,
                                             "files" + paths[node.pk], record))  # fmt: skip
        record["versions"] = []
        for version in versions.get(node.pk, []):
            vrec = {"id": version.content_id, "size": version.size, "md5": version.md5, "mime": version.mime,
                    "created_at": _iso(version.created_at)}  # fmt: skip
            record["versions"].append(vrec)
            snapshot.contents.append(Content(node.doc_id, version.content_id, version.size, version.md5,
                                             version.mime, f"versions/{node.doc_id}/{version.content_id}", vrec))
    return snapshot


def _node_record(node: Node, parent: Node | None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": node.doc_id, "type": node.type, "name": node.name, "dir_id": parent.doc_id if parent else None,
        "trashed": node.trashed, "restore_path": node.restore_path,
        "created_at": _iso(node.created_at), "updated_at": _iso(node.updated_at),
    }  # fmt: skip
    if node.type == Node.Type.FILE:
        record.update(size=node.size, md5=node.md5, mime=node.mime, content_id=node.content_id,
                      revision=node.revision)  # fmt: skip
    return record
