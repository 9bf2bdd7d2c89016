"""The files API against a real S3 server and a real database."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.test import Client

from cozy.files.models import Node, Version
from cozy.instances.services import org_bucket
from tests.cozyclient import ROOT, TRASH, Cozy, doc_id, make_instance, md5_b64

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.s3contract]


@pytest.fixture
def cozy(fs_url, s3_client) -> Cozy:
    instance, token = make_instance("alice.localhost", "alice", org="acme")
    return Cozy(instance, token, Client())


def objects(cozy: Cozy, s3_client) -> list[str]:
    """Every object key under the instance's prefix."""
    prefix = cozy.instance.key_prefix
    return sorted(o.object_name for o in s3_client.list_objects(org_bucket(cozy.instance), prefix=prefix,
                                                               recursive=True))


def assert_error(resp, status: int, cozy: Cozy | None = None) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.content[:300])
    body = resp.json()
    assert body["errors"][0]["status"] == str(status)
    text = json.dumps(body)
    assert "Traceback" not in text
    if cozy is not None:
        assert org_bucket(cozy.instance) not in text and cozy.instance.db_prefix not in text
    return body


def test_upload_and_download(cozy, s3_client):
    data = b"hello cozy\n" * 1000
    resp = cozy.upload("hello.txt", data, content_type="text/plain")
    assert resp.status_code == 201
    attrs = resp.json()["data"]["attributes"]
    assert attrs["name"] == "hello.txt" and attrs["type"] == "file" and attrs["dir_id"] == ROOT
    assert attrs["size"] == str(len(data)) and attrs["md5sum"] == md5_b64(data)
    assert attrs["mime"] == "text/plain" and attrs["class"] == "text" and attrs["trashed"] is False
    fid = doc_id(resp)
    assert cozy.download(fid) == data
    node = Node.objects.get(doc_id=fid)
    assert objects(cozy, s3_client) == [f"{cozy.instance.db_prefix}/files/{fid}/{node.content_id}"]


def test_upload_without_md5_and_empty_file(cozy):
    resp = cozy.upload("empty.bin", b"", md5=None)
    assert resp.status_code == 201
    assert resp.json()["data"]["attributes"]["md5sum"] == md5_b64(b"")
    assert cozy.download(doc_id(resp)) == b""


def test_md5_mismatch_stores_nothing(cozy, s3_client):
    resp = cozy.upload("bad.bin", b"real bytes", md5=md5_b64(b"other bytes"))
    assert_error(resp, 412, cozy)
    assert not Node.objects.filter(name="bad.bin").exists()
    assert objects(cozy, s3_client) == []


def test_malformed_content_md5(cozy):
    assert_error(cozy.upload("x", b"1", md5="not-base64!"), 400, cozy)


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a\x00b", "é" * 128, " lead"])
def test_bad_names_are_refused(cozy, s3_client, name):
    assert_error(cozy.upload(name, b"x"), 400, cozy)
    assert_error(cozy.mkdir(name), 400, cozy)
    assert objects(cozy, s3_client) == []


def test_bad_requests(cozy):
    assert_error(cozy.client.post(f"/files/{ROOT}?Type=link&Name=x", **cozy._h()), 400)
    assert_error(cozy.client.post(f"/files/{ROOT}?Type=file", **cozy._h()), 400)
    assert_error(cozy.upload("x", b"1", dir_id="no-such-dir"), 404)
    fid = doc_id(cozy.upload("f", b"1"))
    assert_error(cozy.upload("x", b"1", dir_id=fid), 409)  # a file is no directory: a valid request, a wrong target
    form = assert_error(cozy.client.post(f"/files/{ROOT}?Type=file&Name=form", data={"a": "b"}, **cozy._h()), 400)
    assert "form (multipart/form-data)" in form["errors"][0]["detail"]
    urlencoded = cozy.client.post(f"/files/{ROOT}?Type=file&Name=form", data=b"a=b", **cozy._h(),
                                  content_type="application/x-www-form-urlencoded")  # curl --data-binary's default
    assert "Content-Type" in assert_error(urlencoded, 400)["errors"][0]["detail"]
    assert_error(cozy.upload("x", b"1", dir_id=TRASH), 409)


def test_name_conflict(cozy, s3_client):
    assert cozy.upload("same", b"1").status_code == 201
    assert_error(cozy.upload("same", b"2"), 409)
    assert_error(cozy.mkdir("same"), 409)
    assert len(objects(cozy, s3_client)) == 1


def test_quota(fs_url, s3_client):
    instance, token = make_instance("small.localhost", "bob", quota=100)
    small = Cozy(instance, token, Client())
    assert small.upload("fits", b"x" * 60).status_code == 201
    assert_error(small.upload("too-big", b"y" * 60), 413, small)
    assert not Node.objects.filter(name="too-big").exists()
    assert len(objects(small, s3_client)) == 1


def test_overwrite_versions_and_revert(cozy, s3_client, settings):
    settings.COZY_MAX_VERSIONS = 2
    fid = doc_id(cozy.upload("doc.txt", b"v1"))
    rev1 = cozy.get(f"/files/{fid}").json()["data"]["meta"]["rev"]
    for content in (b"v2", b"v3", b"v4"):
        resp = cozy.put(fid, content)
        assert resp.status_code == 200, resp.content
    doc = cozy.get(f"/files/{fid}").json()
    assert doc["data"]["attributes"]["md5sum"] == md5_b64(b"v4")
    versions = doc["included"]
    assert [v["attributes"]["md5sum"] for v in versions] == [md5_b64(b"v3"), md5_b64(b"v2")]
    assert len(objects(cozy, s3_client)) == 3  # v1 was pruned and its object deleted
    assert cozy.download(f"{fid}/{versions[0]['id']}") == b"v3"
    # a stale If-Match is refused and stores nothing
    assert_error(cozy.put(fid, b"v5", HTTP_IF_MATCH=rev1), 412)
    assert_error(cozy.put(fid, b"v5", HTTP_IF_MATCH=md5_b64(b"v3")), 412)
    assert len(objects(cozy, s3_client)) == 3
    assert cozy.put(fid, b"v5", HTTP_IF_MATCH=md5_b64(b"v4")).status_code == 200
    # revert to v3 (its content becomes current, no copy)
    v3 = Version.objects.get(file__doc_id=fid, md5=hashlib.md5(b"v3").hexdigest())
    resp = cozy.post(f"/files/revert/{v3.content_id}")
    assert resp.status_code == 200
    assert cozy.download(fid) == b"v3"
    assert Node.objects.get(doc_id=fid).content_id == v3.content_id


def test_directory_listing_paginates(cozy):
    did = doc_id(cozy.mkdir("photos"))
    for i in range(7):
        assert cozy.upload(f"p{i}.jpg", b"x", dir_id=did).status_code == 201
    page = cozy.get(f"/files/{did}?page[limit]=5").json()
    assert page["data"]["attributes"]["path"] == "/photos"
    assert [c["attributes"]["name"] for c in page["included"]] == [f"p{i}.jpg" for i in range(5)]
    assert page["meta"]["count"] == 7
    nxt = cozy.get(page["links"]["next"]).json()
    assert [c["attributes"]["name"] for c in nxt["included"]] == ["p5.jpg", "p6.jpg"]
    assert nxt["links"]["next"] is None
    assert_error(cozy.get(f"/files/{did}?page[limit]=0"), 400)


def test_ranges_etag_and_disposition(cozy):
    data = bytes(range(256)) * 40
    fid = doc_id(cozy.upload("Été 2024.bin", data))
    resp = cozy.get(f"/files/download/{fid}", HTTP_RANGE="bytes=100-199")
    assert resp.status_code == 206 and resp["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert b"".join(resp.streaming_content) == data[100:200]
    resp = cozy.get(f"/files/download/{fid}", HTTP_RANGE="bytes=-10")
    assert b"".join(resp.streaming_content) == data[-10:]
    resp = cozy.get(f"/files/download/{fid}", HTTP_RANGE=f"bytes={len(data) - 5}-")
    assert b"".join(resp.streaming_content) == data[-5:]
    resp = cozy.get(f"/files/download/{fid}", HTTP_RANGE=f"bytes={len(data)}-")
    assert resp.status_code == 416 and resp["Content-Range"] == f"bytes */{len(data)}"
    full = cozy.get(f"/files/download/{fid}")
    etag = full["ETag"]
    assert etag == f'"{hashlib.md5(data).hexdigest()}"'
    assert "filename*=utf-8''%C3%89t%C3%A9%202024.bin" in full["Content-Disposition"]
    assert cozy.get(f"/files/download/{fid}", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_rename_and_move_are_index_only(cozy, s3_client):
    a = doc_id(cozy.mkdir("a"))
    b = doc_id(cozy.mkdir("b", dir_id=a))
    fid = doc_id(cozy.upload("f.txt", b"data"))
    before = objects(cozy, s3_client)
    resp = cozy.patch(fid, name="g.txt", dir_id=b)
    assert resp.status_code == 200
    assert resp.json()["data"]["attributes"]["dir_id"] == b
    assert cozy.get(f"/files/{b}").json()["included"][0]["attributes"]["name"] == "g.txt"
    assert objects(cozy, s3_client) == before
    assert_error(cozy.patch(a, dir_id=b), 409)  # into its own subdirectory
    assert_error(cozy.patch(a, dir_id=a), 409)
    assert_error(cozy.patch(ROOT, name="x"), 403)
    cozy.upload("h.txt", b"1", dir_id=b)
    assert_error(cozy.patch(fid, name="h.txt"), 409)
    assert_error(cozy.patch(fid, name="a/b"), 400)
    resp = cozy.client.patch(f"/files/{fid}", data="{not json", content_type="application/json", **cozy._h())
    assert_error(resp, 400)


def test_trash_restore_destroy(cozy, s3_client):
    d = doc_id(cozy.mkdir("docs"))
    fid = doc_id(cozy.upload("f.txt", b"one", dir_id=d))
    cozy.put(fid, b"two")
    assert len(objects(cozy, s3_client)) == 2
    resp = cozy.delete(f"/files/{d}")
    assert resp.status_code == 200 and resp.json()["data"]["attributes"]["trashed"] is True
    assert Node.objects.get(doc_id=fid).trashed is True  # descendants follow
    trash_listing = cozy.get(f"/files/{TRASH}").json()
    assert [c["id"] for c in trash_listing["included"]] == [d]
    # restore puts it back where it was
    assert cozy.post(f"/files/trash/{d}").status_code == 200
    assert cozy.get(f"/files/{d}").json()["data"]["attributes"]["path"] == "/docs"
    assert Node.objects.get(doc_id=fid).trashed is False
    # destroy removes the rows, then every object (current and versions)
    cozy.delete(f"/files/{d}")
    assert_error(cozy.delete(f"/files/trash/{ROOT}"), 403)
    assert cozy.delete(f"/files/trash/{d}").status_code == 204
    assert not Node.objects.filter(doc_id__in=[d, fid]).exists()
    assert objects(cozy, s3_client) == []


def test_restore_name_clash_and_empty_trash(cozy, s3_client):
    first = doc_id(cozy.upload("note.txt", b"1"))
    cozy.delete(f"/files/{first}")
    cozy.upload("note.txt", b"2")
    resp = cozy.post(f"/files/trash/{first}")
    assert resp.json()["data"]["attributes"]["name"] == "note (2).txt"
    for name in ("x", "y"):
        cozy.delete(f"/files/{doc_id(cozy.upload(name, name.encode()))}")
    assert cozy.delete("/files/trash").json()["meta"]["deleted"] == 2
    assert len(objects(cozy, s3_client)) == 2
    assert_error(cozy.post(f"/files/trash/{first}"), 409)  # not in the trash


def test_auth_and_isolation(cozy, fs_url):
    other, other_token = make_instance("eve.localhost", "eve", org="acme")
    eve = Cozy(other, other_token, Client())
    fid = doc_id(cozy.upload("secret.txt", b"alice only"))
    # no credentials, a bad token, another instance's token
    assert_error(cozy.client.get(f"/files/{fid}", HTTP_HOST=cozy.host), 401)
    assert_error(cozy.client.get(f"/files/{fid}", HTTP_HOST=cozy.host, HTTP_AUTHORIZATION="Bearer nope"), 401)
    assert_error(cozy.client.get(f"/files/{fid}", HTTP_HOST=cozy.host, HTTP_AUTHORIZATION=f"Bearer {eve.token}"), 403)
    # alice's id on eve's instance is just missing, for every route
    missing = eve.get(f"/files/{fid}")
    never = eve.get("/files/0123456789abcdef0123456789abcdef")
    assert assert_error(missing, 404) == assert_error(never, 404)
    assert_error(eve.get(f"/files/download/{fid}"), 404)
    assert_error(eve.put(fid, b"overwrite"), 404)
    assert_error(eve.patch(fid, name="stolen"), 404)
    assert_error(eve.delete(f"/files/{fid}"), 404)
    alice_dir = doc_id(cozy.mkdir("private"))
    assert_error(eve.upload("x", b"1", dir_id=alice_dir), 404)
    assert_error(eve.delete(f"/files/trash/{fid}"), 404)
    assert cozy.download(fid) == b"alice only"
    assert_error(cozy.client.get("/files/x", HTTP_HOST="unknown.localhost"), 404)


def test_session_auth_needs_csrf_and_ownership(cozy):
    from django.contrib.auth import get_user_model

    owner = get_user_model().objects.get(username="alice")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    assert browser.get(f"/files/{ROOT}", HTTP_HOST=cozy.host).status_code == 200
    resp = browser.post(f"/files/{ROOT}?Type=directory&Name=d", HTTP_HOST=cozy.host)
    assert_error(resp, 403)
    stranger = get_user_model().objects.create(username="mallory")
    other = Client()
    other.force_login(stranger)
    assert_error(other.get(f"/files/{ROOT}", HTTP_HOST=cozy.host), 403)


def test_deleting_instance_refuses_work(cozy):
    cozy.instance.state = "deleting"
    cozy.instance.save()
    assert_error(cozy.get(f"/files/{ROOT}"), 410)
    assert_error(cozy.upload("late", b"1"), 410)


def test_openapi_document(cozy):
    resp = Client().get("/api/openapi.json")
    assert resp.status_code == 200
    spec = resp.json()
    assert spec["openapi"].startswith("3.")
    assert {"/files/{file_id}", "/files/download/{file_id}", "/files/trash"} <= set(spec["paths"])
