"""The document of a directory listing, pinned byte for byte.

The expected documents are written out here field by field, in the order the API
sends them, from the index rows; the response must be exactly those bytes. A change
in how listings are built (queries, encoding) must not show in what clients get.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from django.core import signing
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cozy.files.models import Node
from cozy.thumbnails import signing as thumb_signing
from cozy.thumbnails.signing import check_secret, make_secret
from tests.cozyclient import ROOT, TRASH, Cozy, doc_id, make_instance

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.s3contract]
DOCTYPE = "io.cozy.files"
FROZEN = "1xyzab"  # the old signer's timestamp in these tests


@pytest.fixture
def cozy(fs_url, s3_client, monkeypatch) -> Cozy:
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", lambda self: FROZEN)
    # One second for every secret of a test: the response and the document it is compared
    # with are built at different instants, which may straddle a second.
    now = thumb_signing._stamp(int(time.time()))
    monkeypatch.setattr(thumb_signing, "_stamp", lambda seconds: now)
    instance, token = make_instance("alice.localhost", "alice", org="acme")
    return Cozy(instance, token, Client())


def send(cozy: Cozy, method: str, path: str, body: dict) -> Any:
    resp = getattr(cozy.client, method)(path, data=json.dumps(body), content_type="application/json", **cozy._h())
    assert resp.status_code in (200, 201), resp.content
    return resp


def cozy_metadata(node: Node) -> dict[str, Any]:
    meta = {"doctypeVersion": "1", "metadataVersion": 1, **node.cozy_metadata}
    meta.setdefault("createdAt", node.created_at.isoformat())
    meta["updatedAt"] = node.updated_at.isoformat()
    if node.type == "file":
        meta.setdefault("uploadedAt", node.created_at.isoformat())
    return meta


def thumbnail_links(cozy: Cozy, node: Node) -> dict[str, str]:
    secret = make_secret(cozy.instance.db_prefix, node.doc_id, node.content_id)
    assert check_secret(secret, cozy.instance.db_prefix, node.doc_id) == node.content_id
    links = {fmt: f"/files/{node.doc_id}/thumbnails/{secret}/{fmt}" for fmt in ("large", "medium", "small", "tiny")}
    if node.mime == "application/pdf":
        links.update(icon=f"/files/{node.doc_id}/icon/{secret}", preview=f"/files/{node.doc_id}/preview/{secret}")
    return links


def resource(cozy: Cozy, doc: str, path: str, refs: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    """A node's resource as written out by hand: the expected shape, key order included."""
    node = Node.objects.select_related("parent").get(instance=cozy.instance, doc_id=doc)
    attrs: dict[str, Any] = {
        "type": node.type, "name": node.name, "dir_id": node.parent.doc_id if node.parent else "", "path": path,
        "created_at": node.created_at.isoformat(), "updated_at": node.updated_at.isoformat(),
        "trashed": node.trashed, "tags": node.tags, "cozyMetadata": cozy_metadata(node),
    }
    if node.type == "file":
        attrs.update({"size": str(node.size), "md5sum": base64.b64encode(bytes.fromhex(node.md5)).decode(),
                      "mime": node.mime, "class": node.mime_class, "executable": node.executable, "encrypted": False})
        if node.metadata:
            attrs["metadata"] = node.metadata
    if node.restore_path:
        attrs["restore_path"] = node.restore_path
    res: dict[str, Any] = {"type": DOCTYPE, "id": doc, "attributes": attrs, "meta": {"rev": node.rev},
                           "links": {"self": f"/files/{doc}"}}
    if node.parent:
        res["relationships"] = {"parent": {"data": {"type": DOCTYPE, "id": node.parent.doc_id}}}
    if refs:  # in the order they were added, as cozy-stack keeps them
        res.setdefault("relationships", {})["referenced_by"] = {"data": [{"type": t, "id": i} for t, i in refs]}
    if node.type == "file":
        res["links"]["download"] = f"/files/download/{doc}"
        if node.mime.startswith("image/") or node.mime == "application/pdf":
            res["links"].update(thumbnail_links(cozy, node))
    return res


def listing(cozy: Cozy, directory: dict[str, Any], children: list[dict[str, Any]], count: int,
            next_link: str | None) -> bytes:
    data = {**directory, "relationships": {**directory.get("relationships", {}), "contents": {
        "data": [{"type": DOCTYPE, "id": c["id"]} for c in children]}}}
    doc = {"data": data, "included": children, "links": {"next": next_link}, "meta": {"count": count}}
    return json.dumps(doc, cls=DjangoJSONEncoder).encode()


def assert_same(got: bytes, want: bytes) -> None:
    got_doc, want_doc = json.loads(got), json.loads(want)
    got_res, want_res = [got_doc["data"], *got_doc["included"]], [want_doc["data"], *want_doc["included"]]
    for g, w in zip(got_res, want_res, strict=False):
        assert g == w  # a readable diff first, one resource at a time
    assert got_doc == want_doc
    assert got == want  # then the bytes, key order included


def test_a_directory_listing_is_pinned(cozy):
    top = doc_id(cozy.mkdir("pinned"))
    sub = doc_id(cozy.mkdir("sub", top))
    jpg = doc_id(cozy.upload("a.jpg", b"\xff\xd8 not really", top, content_type="image/jpeg"))
    pdf = doc_id(cozy.upload("b.pdf", b"%PDF-", top, content_type="application/pdf"))
    txt = doc_id(cozy.upload("c \u00e9t\u00e9.txt", b"text", top, content_type="text/plain"))
    doomed = doc_id(cozy.upload("d.bin", b"bin", top))
    refs = (("io.cozy.photos.albums", "album1"), ("io.cozy.bills", "b\u00e9"))
    send(cozy, "post", f"/files/{jpg}/relationships/referenced_by",
         {"data": [{"type": t, "id": i} for t, i in refs]})
    send(cozy, "post", f"/files/{top}/relationships/referenced_by",
         {"data": [{"type": "io.cozy.photos.albums", "id": "dir-album"}]})
    assert cozy.patch(jpg, tags=["holiday", "sea"]).status_code == 200
    assert cozy.patch(txt, executable=True, cozyMetadata={"createdByApp": "notes"}).status_code == 200
    send(cozy, "post", f"/files/{pdf}/versions", {"data": {"type": "io.cozy.files.metadata",
                                                          "attributes": {"pages": 1, "title": "\u00e9"}}})
    assert cozy.delete(f"/files/{doomed}").status_code == 200

    resp = cozy.get(f"/files/{top}")
    assert resp.status_code == 200 and resp["Content-Type"] == "application/vnd.api+json"
    directory = resource(cozy, top, "/pinned", (("io.cozy.photos.albums", "dir-album"),))
    children = [resource(cozy, jpg, "/pinned/a.jpg", refs), resource(cozy, pdf, "/pinned/b.pdf"),
                resource(cozy, txt, "/pinned/c \u00e9t\u00e9.txt"), resource(cozy, sub, "/pinned/sub")]
    assert_same(resp.content, listing(cozy, directory, children, 4, None))

    # pages: the cursor is the last name, the next link keeps the route's own path
    first = cozy.get(f"/files/{top}?page[limit]=2")
    next_link = f"/files/{top}?page%5Blimit%5D=2&page%5Bcursor%5D=b.pdf"
    assert_same(first.content, listing(cozy, directory, children[:2], 4, next_link))
    assert_same(cozy.get(next_link).content, listing(cozy, directory, children[2:], 4, None))


def test_the_trash_listing_is_pinned(cozy):
    old = doc_id(cozy.mkdir("old"))
    inner = doc_id(cozy.upload("e.png", b"png", old, content_type="image/png"))
    loose = doc_id(cozy.upload("f.txt", b"f", content_type="text/plain"))
    for doc in (old, loose):
        assert cozy.delete(f"/files/{doc}").status_code == 200

    trash = resource(cozy, TRASH, "/.cozy_trash")
    children = [resource(cozy, loose, "/.cozy_trash/f.txt"), resource(cozy, old, "/.cozy_trash/old")]
    assert_same(cozy.get(f"/files/{TRASH}").content, listing(cozy, trash, children, 2, None))
    # inside a trashed directory: trashed too, no restore path of its own
    trashed_dir = resource(cozy, old, "/.cozy_trash/old")
    assert_same(cozy.get(f"/files/{old}").content,
                listing(cozy, trashed_dir, [resource(cozy, inner, "/.cozy_trash/old/e.png")], 1, None))
    # the root: no parent, the trash among its children
    root = resource(cozy, ROOT, "/")
    assert_same(cozy.get(f"/files/{ROOT}").content, listing(cozy, root, [trash], 1, None))


def test_a_page_costs_the_same_queries_whatever_its_size(cozy):
    """No query per child: the rows, their references and the count are one query each."""
    small, large = doc_id(cozy.mkdir("small")), doc_id(cozy.mkdir("large"))
    for directory, count in ((small, 2), (large, 30)):
        for i in range(count):
            fid = doc_id(cozy.upload(f"p{i}.jpg", b"x", directory, content_type="image/jpeg"))
            send(cozy, "post", f"/files/{fid}/relationships/referenced_by",
                 {"data": [{"type": "io.cozy.photos.albums", "id": f"a{i}"}]})

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            resp = cozy.get(path)
        assert resp.status_code == 200
        return len(captured.captured_queries)

    queries(f"/files/{small}")  # warm: the instance's key prefix is looked up once per process
    assert queries(f"/files/{large}") == queries(f"/files/{small}")
    # a page that is not the whole directory counts its children: one query more
    assert queries(f"/files/{large}?page[limit]=10") == queries(f"/files/{small}") + 1
