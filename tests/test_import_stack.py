"""An archive in cozy-stack's export layout imports: directories, files, versions, the trash."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from cozy.files.models import ROOT_ID, TRASH_ID, Node, Version
from cozy.storage.stores import store_for
from tests.cozyclient import make_instance

pytestmark = pytest.mark.django_db(transaction=True)
DATA, FILES = "My Cozy/Data", "My Cozy/Files"
PHOTO, OLD_PHOTO, NOTE = b"\xff\xd8 a photo" * 1000, b"the first photo", "déjà vu\n".encode() * 100
D1, D2, F1, F2, F3, F4 = "d1" * 16, "d2" * 16, "f1" * 16, "f2" * 16, "f3" * 16, "f4" * 16


def b64md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def dir_doc(doc_id: str, name: str, parent: str, **extra) -> dict:
    return {"_id": doc_id, "_rev": "1-x", "type": "directory", "name": name, "dir_id": parent,
            "created_at": "2023-01-02T03:04:05.123456789+01:00", "updated_at": "2023-02-03T04:05:06Z", **extra}


def file_doc(doc_id: str, name: str, parent: str, data: bytes, **extra) -> dict:
    return {"_id": doc_id, "_rev": "3-y", "type": "file", "name": name, "dir_id": parent, "size": str(len(data)),
            "md5sum": b64md5(data), "mime": "image/jpeg", "class": "image", "executable": False,
            "trashed": False, "created_at": "2022-05-06T07:08:09Z", "updated_at": "2024-01-01T00:00:00.5Z",
            **extra}  # fmt: skip


def write(zf: zipfile.ZipFile, name: str, data: bytes | dict) -> None:
    zf.writestr(name, json.dumps(data) if isinstance(data, dict) else data, compress_type=zipfile.ZIP_DEFLATED)


def stack_parts(tmp_path: Path, claimed: bytes = PHOTO) -> list[str]:
    """Two parts as cozy-stack's /move/exports/data writes them: the documents (directories in
    the first part), each file's document followed by its content, each version's likewise."""
    first, second = tmp_path / "cozy-1.zip", tmp_path / "cozy-2.zip"
    with zipfile.ZipFile(first, "w") as zf:
        write(zf, f"{DATA}/instance.json", {"domain": "alice.mycozy.cloud"})
        write(zf, f"{DATA}/io.cozy.files/{ROOT_ID}.json", dir_doc(ROOT_ID, "", "", path="/"))
        write(zf, f"{DATA}/io.cozy.files/{TRASH_ID}.json", dir_doc(TRASH_ID, ".cozy_trash", ROOT_ID))
        write(zf, f"{DATA}/io.cozy.files/{D2}.json", dir_doc(D2, "old dir", TRASH_ID, restore_path="/"))
        write(zf, f"{DATA}/io.cozy.files/{D1}.json", dir_doc(D1, "Photos été", ROOT_ID))
        write(zf, f"{DATA}/io.cozy.contacts/c1.json", {"_id": "c1", "fullname": "Bob"})
        write(zf, f"{DATA}/io.cozy.files/{F1}.json", file_doc(F1, "été.jpg", D1, claimed))
        write(zf, f"{FILES}/Photos été/été.jpg", PHOTO)
        version = {"_id": f"{F1}/1-abc", "updated_at": "2021-01-01T00:00:00Z", "size": str(len(OLD_PHOTO)),
                   "md5sum": b64md5(OLD_PHOTO), "relationships": {"file": {"data": {"_id": F1}}}}  # fmt: skip
        write(zf, f"{DATA}/io.cozy.files.versions/{F1}/1-abc.json", version)
        write(zf, f"{FILES}/{F1}/1-abc", OLD_PHOTO)
    with zipfile.ZipFile(second, "w") as zf:
        write(zf, f"{DATA}/io.cozy.files/{F2}.json",
              file_doc(F2, "note.txt", D2, NOTE, mime="text/plain", trashed=True))  # fmt: skip
        write(zf, f"{FILES}/.cozy_trash/old dir/note.txt", NOTE)
        # a content cozy-stack could not read: its document alone, left out
        write(zf, f"{DATA}/io.cozy.files/{F3}.json", file_doc(F3, "lost.bin", ROOT_ID, b"lost"))
        write(zf, f"{DATA}/io.cozy.files/{F4}.json", file_doc(F4, "vide", ROOT_ID, b""))
        write(zf, f"{FILES}/vide", b"")
    return [str(second), str(first)]  # in any order


def test_a_cozy_stack_archive_imports_files_directories_and_versions(fs_url, tmp_path):
    instance, _ = make_instance("stack.localhost", "sam", org="imp")
    out = io.StringIO()
    call_command("instances", "import", instance.domain, *stack_parts(tmp_path), stdout=out)
    assert "imported 3 files, 4 contents" in out.getvalue()
    nodes = {n.doc_id: n for n in Node.objects.filter(instance=instance)}
    assert set(nodes) == {ROOT_ID, TRASH_ID, D1, D2, F1, F2, F4}  # F3 had no content
    assert (nodes[D1].name, nodes[D1].parent_id, nodes[D1].trashed) == ("Photos été", nodes[ROOT_ID].pk, False)
    assert (nodes[D2].parent_id, nodes[D2].trashed, nodes[D2].restore_path) == (nodes[TRASH_ID].pk, True, "/")
    assert (nodes[F2].parent_id, nodes[F2].trashed, nodes[F2].mime) == (nodes[D2].pk, True, "text/plain")
    assert nodes[D1].created_at == datetime.fromisoformat("2023-01-02T03:04:05.123456+01:00")
    assert nodes[F1].updated_at == datetime.fromisoformat("2024-01-01T00:00:00.5+00:00")
    store = store_for(instance, "files")
    for doc_id, data in ((F1, PHOTO), (F2, NOTE), (F4, b"")):
        node = nodes[doc_id]
        assert (node.size, node.md5) == (len(data), hashlib.md5(data).hexdigest())
        assert b"".join(store.read(f"{doc_id}/{node.content_id}")) == data
    [version] = Version.objects.filter(file=nodes[F1])
    assert (version.size, version.md5) == (len(OLD_PHOTO), hashlib.md5(OLD_PHOTO).hexdigest())
    assert version.created_at == datetime.fromisoformat("2021-01-01T00:00:00+00:00")
    assert b"".join(store.read(f"{F1}/{version.content_id}")) == OLD_PHOTO


def test_a_cozy_stack_archive_with_a_wrong_md5_is_refused(fs_url, tmp_path):
    instance, _ = make_instance("stack2.localhost", "sid", org="imp")
    parts = stack_parts(tmp_path, claimed=PHOTO[:-1] + b"!")  # the photo's document claims other bytes
    with pytest.raises(CommandError, match="damaged"):
        call_command("instances", "import", instance.domain, *parts, stdout=io.StringIO())
    assert Node.objects.filter(instance=instance).count() == 2
    assert list(store_for(instance, "files").list()) == []
