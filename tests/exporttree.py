"""A tree worth exporting: Unicode names, nested folders, versions, an empty file, the trash."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass

from cozy.exports.models import Export
from cozy.exports.runner import exports_store
from cozy.files.models import Node, Version
from tests.cozyclient import Cozy, doc_id

MiB = 1024 * 1024


@dataclass
class Tree:
    ids: dict[str, str]  # label -> doc id


def build_tree(cozy: Cozy, big: int = 3 * MiB) -> Tree:
    ids: dict[str, str] = {}
    ids["dir"] = doc_id(cozy.mkdir("Dossier été 📁"))
    ids["sub"] = doc_id(cozy.mkdir("日本語", ids["dir"]))
    text = "déjà vu\n".encode() * 5000
    ids["text"] = doc_id(cozy.upload("naïve 文件.txt", text, ids["sub"], content_type="text/plain"))
    ids["big"] = doc_id(cozy.upload("photo.bin", os.urandom(big), ids["dir"]))
    ids["empty"] = doc_id(cozy.upload("vide", b""))
    ids["versioned"] = doc_id(cozy.upload("notes.md", b"v1"))
    for body in (b"version 2", b"version three"):
        assert cozy.put(ids["versioned"], body).status_code == 200
    ids["trashed"] = doc_id(cozy.upload("old ñ.bin", os.urandom(1000), ids["dir"]))
    assert cozy.delete(f"/files/{ids['trashed']}").status_code == 200
    return Tree(ids)


def index_of(instance) -> dict[str, dict]:
    """Every node by id, with what an import must restore."""
    nodes = {n.pk: n for n in Node.objects.filter(instance=instance)}
    out = {}
    for node in nodes.values():
        parent = nodes.get(node.parent_id)
        versions = [(v.content_id, v.size, v.md5, v.created_at.isoformat())
                    for v in Version.objects.filter(file=node).order_by("created_at")]
        out[node.doc_id] = {
            "type": node.type, "name": node.name, "parent": parent.doc_id if parent else None,
            "trashed": node.trashed, "restore_path": node.restore_path, "size": node.size, "md5": node.md5,
            "mime": node.mime, "content_id": node.content_id, "revision": node.revision,
            "created_at": node.created_at.isoformat(), "updated_at": node.updated_at.isoformat(),
            "versions": versions,
        }
    return out


def part_bytes(export: Export, n: int) -> bytes:
    return b"".join(exports_store(export).read(export.part_name(n)))


def zips_of(export: Export) -> list[zipfile.ZipFile]:
    return [zipfile.ZipFile(io.BytesIO(part_bytes(export, p["n"]))) for p in export.parts]


def metadata_of(export: Export) -> dict:
    last = zips_of(export)[-1]
    return json.loads(last.read("cozy-export.json"))


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()
