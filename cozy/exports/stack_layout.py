"""Read the zip parts of a cozy-stack export as if they were ours (files, directories, versions).

cozy-stack's parts (its ``/move/exports/data`` downloads) hold every CouchDB
document as ``My Cozy/Data/<doctype>/<id>.json``; a file's document
(``io.cozy.files``) is followed by its content at ``My Cozy/Files/<path>``, and
an old version's (``io.cozy.files.versions``, id ``<file id>/<version>``) by
its content at ``My Cozy/Files/<file id>/<version>``; the directories'
documents are in the first part. This builds the metadata document of our own
format from them, so that the importer checks and writes them the same way.
Sizes are strings there, and MD5s base64.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections import defaultdict
from typing import Any

from cozy.exports.snapshot import FORMAT, FORMAT_VERSION
from cozy.files.models import ROOT_ID, TRASH_ID

DATA = "My Cozy/Data/"
CONTENTS = "My Cozy/Files/"
FILES, VERSIONS = "io.cozy.files", "io.cozy.files.versions"


def is_stack_export(zips: list[zipfile.ZipFile]) -> bool:
    return any(name.startswith(DATA) for z in zips for name in z.namelist())


def _content_id(stack_id: str) -> str:
    """cozy-stack has no content ids: one derived from the document's id, the same every time
    (a resumed import must find what it wrote)."""
    return hashlib.sha256(f"cozy-stack:{stack_id}".encode()).hexdigest()[:32]


def _md5(value: Any) -> str:
    return base64.b64decode(value).hex() if value else ""


def _documents(zips: list[zipfile.ZipFile]) -> tuple[list[dict], list[dict]]:
    """(files and directories, versions), each with the place of its content (part, entry) if
    the next entry of its part is one."""
    nodes: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    for part, archive in enumerate(zips, 1):
        infos = archive.infolist()
        for i, info in enumerate(infos):
            doctype = info.filename.removeprefix(DATA).partition("/")[0]
            if not info.filename.startswith(DATA) or doctype not in (FILES, VERSIONS):
                continue
            doc = json.loads(archive.read(info))
            following = infos[i + 1].filename if i + 1 < len(infos) else ""
            if following.startswith(CONTENTS):
                doc["_place"] = (part, following)
            (nodes if doctype == FILES else versions).append(doc)
    return nodes, versions


def _record(doc: dict[str, Any], trashed: bool) -> dict[str, Any]:
    rec = {"id": doc["_id"], "type": doc["type"], "name": doc.get("name", ""), "dir_id": doc.get("dir_id"),
           "created_at": doc["created_at"], "updated_at": doc["updated_at"], "trashed": trashed,
           "restore_path": doc.get("restore_path", "")}  # fmt: skip
    if doc["type"] == "file":
        part, entry = doc["_place"]
        rec.update(size=int(doc["size"]), md5=_md5(doc.get("md5sum")), mime=doc.get("mime", ""), revision=1,
                   content_id=_content_id(doc["_id"]), part=part, entry=entry, versions=[])  # fmt: skip
    return rec


def _version(doc: dict[str, Any], mime: str) -> dict[str, Any]:
    part, entry = doc["_place"]
    return {"id": _content_id(doc["_id"]), "size": int(doc["size"]), "md5": _md5(doc.get("md5sum")), "mime": mime,
            "created_at": doc["updated_at"], "part": part, "entry": entry}  # fmt: skip


def _in_tree_order(nodes: list[dict]) -> list[tuple[dict, bool]]:
    """Parents first, from the root, each with whether it is in the trash; what hangs from no
    directory of the archive is left for the importer to refuse (after everything else)."""
    children: dict[str, list[dict]] = defaultdict(list)
    for doc in nodes:
        children[doc.get("dir_id") or ""].append(doc)
    ordered, level = [], [(doc, False) for doc in nodes if doc["_id"] == ROOT_ID]
    placed = {doc["_id"] for doc, _ in level}
    while level:
        ordered.extend(level)
        level = [(child, trashed or doc["_id"] == TRASH_ID) for doc, trashed in level
                 for child in children[doc["_id"]] if child["_id"] not in placed]  # fmt: skip
        placed.update(doc["_id"] for doc, _ in level)
    return ordered + [(doc, False) for doc in nodes if doc["_id"] not in placed]


def metadata(zips: list[zipfile.ZipFile]) -> dict[str, Any]:
    """Our metadata document for cozy-stack's parts (any order). A file whose content is not in
    the archive (cozy-stack skips a content it cannot read) is left out, with its versions."""
    nodes, versions = _documents(zips)
    nodes = [d for d in nodes if d.get("type") == "directory" or "_place" in d]
    records = [_record(doc, trashed) for doc, trashed in _in_tree_order(nodes)]
    files = {r["id"]: r for r in records if r["type"] == "file"}
    for doc in sorted(versions, key=lambda d: str(d.get("updated_at"))):
        file_id = doc["_id"].partition("/")[0]
        if file_id in files and "_place" in doc:
            files[file_id]["versions"].append(_version(doc, files[file_id]["mime"]))
    return {"format": FORMAT, "version": FORMAT_VERSION, "parts": len(zips), "files": records, "avatar": None}
