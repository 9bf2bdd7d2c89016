"""cozy-stack's shapes that cozy clients rely on: JSON:API 404s, revisions, If-Match,
PATCH attributes, paths, version ids, client dates."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.test import Client

from cozy.files import links
from cozy.files.models import Node, Tombstone, Version
from cozy.instances.services import org_bucket
from tests.cozyclient import ROOT, Cozy, content_key, doc_id, make_instance

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cozy(fs_url, s3_client) -> Cozy:
    instance, token = make_instance("carol.localhost", "carol")
    return Cozy(instance, token, Client())


def patch(cozy: Cozy, file_id: str, if_match: str | None = None, **attrs):
    body = {"data": {"type": "io.cozy.files", "id": file_id, "attributes": attrs}}
    extra = {"HTTP_IF_MATCH": if_match} if if_match else {}
    return cozy.client.patch(f"/files/{file_id}", data=json.dumps(body), content_type="application/json",
                             **cozy._h(**extra))


@pytest.mark.parametrize("method,path", [
    ("get", "/files/no/such/route"), ("post", "/files/_nothing"), ("get", "/data/io.cozy.files/x/y/z"),
    ("get", "/data/"), ("delete", "/files/a/b/c"), ("get", "/files"),
])
def test_unknown_paths_answer_jsonapi_404(cozy, method, path):
    resp = getattr(cozy.client, method)(path, **cozy._h())
    assert resp.status_code == 404
    assert resp["Content-Type"] == "application/vnd.api+json"
    assert resp.json()["errors"][0]["status"] == "404"


def test_find_is_not_a_directory_id(cozy):
    resp = cozy.client.post("/files/_find", data="{}", content_type="application/json", **cozy._h())
    assert resp.status_code != 400 or "Type" not in resp.content.decode()
    assert Node.objects.filter(instance=cozy.instance, doc_id="_find").count() == 0


def test_rev_advances_on_every_change_and_if_match(cozy):
    dir_id = doc_id(cozy.mkdir("d"))
    resp = cozy.upload("a.txt", b"one")
    fid = doc_id(resp)
    revs = [resp.json()["data"]["meta"]["rev"]]

    def rev_after(resp) -> str:
        assert resp.status_code == 200, resp.content
        revs.append(resp.json()["data"]["meta"]["rev"])
        assert revs[-1] != revs[-2]
        return revs[-1]

    rev_after(patch(cozy, fid, if_match=revs[-1], name="b.txt"))
    stale = revs[0]
    assert patch(cozy, fid, if_match=stale, name="c.txt").status_code == 412
    rev_after(patch(cozy, fid, dir_id=dir_id))
    rev_after(cozy.put(fid, b"two", HTTP_IF_MATCH=revs[-1]))
    assert cozy.client.delete(f"/files/{fid}", **cozy._h(HTTP_IF_MATCH=stale)).status_code == 412
    rev_after(cozy.client.delete(f"/files/{fid}", **cozy._h(HTTP_IF_MATCH=revs[-1])))
    rev_after(cozy.post(f"/files/trash/{fid}"))
    assert Node.objects.get(doc_id=fid).name == "b.txt"


def test_patch_attributes_and_path(cozy):
    dir_id = doc_id(cozy.mkdir("photos"))
    fid = doc_id(cozy.upload("cat.jpg", b"meow", dir_id))
    resp = patch(cozy, fid, tags=["pets", "cats", "pets"], executable=True,
                 updated_at="2020-01-02T03:04:05Z", cozyMetadata={"createdByApp": "photos"})
    assert resp.status_code == 200, resp.content
    attrs = resp.json()["data"]["attributes"]
    assert attrs["tags"] == ["pets", "cats"]
    assert attrs["executable"] is True
    assert attrs["updated_at"].startswith("2020-01-02T03:04:05")
    assert attrs["cozyMetadata"]["createdByApp"] == "photos"
    assert attrs["path"] == "/photos/cat.jpg"
    assert cozy.get(f"/files/{dir_id}").json()["included"][0]["attributes"]["path"] == "/photos/cat.jpg"
    assert patch(cozy, fid, tags=[""]).status_code == 400
    assert patch(cozy, fid, updated_at="yesterday").status_code == 400
    assert patch(cozy, fid).status_code == 400


def test_metadata_by_path(cozy):
    dir_id = doc_id(cozy.mkdir("a"))
    fid = doc_id(cozy.upload("f.txt", b"x", dir_id))
    resp = cozy.get("/files/metadata?Path=/a/f.txt")
    assert resp.status_code == 200 and resp.json()["data"]["id"] == fid
    resp = cozy.get("/files/metadata?Path=/a")
    assert resp.json()["data"]["id"] == dir_id
    assert [r["id"] for r in resp.json()["included"]] == [fid]
    assert cozy.get("/files/metadata?Path=/").json()["data"]["id"] == ROOT
    assert cozy.get("/files/metadata?Path=/a/missing").status_code == 404
    assert cozy.get("/files/metadata?Path=/a/f.txt/deeper").status_code == 404
    assert cozy.get("/files/metadata?Path=relative").status_code == 404


def test_permanent_delete(cozy, s3_client):
    fid = doc_id(cozy.upload("gone.txt", b"bye"))
    rev = Node.objects.get(doc_id=fid).rev
    assert patch(cozy, fid, if_match="1-stale", permanent_delete=True).status_code == 412
    resp = patch(cozy, fid, if_match=rev, permanent_delete=True)
    assert resp.status_code == 200, resp.content
    assert resp.json()["data"]["id"] == fid
    assert not Node.objects.filter(doc_id=fid).exists()
    assert Tombstone.objects.filter(instance=cozy.instance, doc_id=fid).count() == 1
    assert cozy.get(f"/files/{fid}").status_code == 404


def test_version_ids_as_cozy_stack(cozy):
    fid = doc_id(cozy.upload("v.txt", b"v1"))
    doc = cozy.put(fid, b"v2").json()
    (version,) = doc["included"]
    assert version["id"].startswith(f"{fid}/")
    assert cozy.download(version["id"]) == b"v1"  # GET /files/download/<file id>/<rev>, as the client does
    bare = version["id"].split("/")[1]
    assert cozy.download(f"{fid}/{bare}") == b"v1"
    assert cozy.download(f"{fid}/{fid}%2F{bare}") == b"v1"  # the Drive UI encodes the slash
    resp = cozy.post(f"/files/revert/{version['id']}")
    assert resp.status_code == 200
    assert cozy.download(fid) == b"v1"


def test_client_dates_and_creation_attributes(cozy):
    resp = cozy.client.post("/files/io.cozy.files.root-dir?Type=directory&Name=old&Tags=a,b",
                            **cozy._h(HTTP_DATE="Wed, 02 Jan 2019 10:00:00 GMT"))
    attrs = resp.json()["data"]["attributes"]
    assert attrs["created_at"].startswith("2019-01-02T10:00:00") and attrs["tags"] == ["a", "b"]
    resp = cozy.upload("t.sh", b"#!", QUERY_STRING="")
    resp = cozy.client.post("/files/io.cozy.files.root-dir?Type=file&Name=s.sh&Executable=true"
                            "&CreatedAt=2018-05-06T07:08:09Z&UpdatedAt=2018-06-06T07:08:09%2B02:00",
                            data=b"#!", content_type="text/plain", **cozy._h())
    attrs = resp.json()["data"]["attributes"]
    assert attrs["executable"] is True
    assert attrs["created_at"].startswith("2018-05-06T07:08:09")
    assert attrs["updated_at"].startswith("2018-06-06T05:08:09")
    fid = doc_id(resp)
    resp = cozy.client.put(f"/files/{fid}?UpdatedAt=2018-07-01T00:00:00Z", data=b"#!/bin/sh",
                           content_type="text/plain", **cozy._h())
    assert resp.json()["data"]["attributes"]["updated_at"].startswith("2018-07-01T00:00:00")
    resp = cozy.client.post("/files/io.cozy.files.root-dir?Type=file&Name=bad&CreatedAt=nope",
                            data=b"x", content_type="text/plain", **cozy._h())
    assert resp.status_code == 400
    assert not Node.objects.filter(name="bad").exists()


def test_download_links(cozy, monkeypatch):
    dir_id = doc_id(cozy.mkdir("docs"))
    fid = doc_id(cozy.upload("ré port.txt", b"0123456789", dir_id))
    anonymous = Client()

    def link(query: str) -> str:
        resp = cozy.post(f"/files/downloads?{query}")
        assert resp.status_code == 200, resp.content
        return resp.json()["links"]["related"]

    by_id = link(f"Id={fid}")
    assert by_id.endswith("/r%C3%A9%20port.txt")
    resp = anonymous.get(by_id, HTTP_HOST=cozy.host)
    assert resp.status_code == 200 and b"".join(resp.streaming_content) == b"0123456789"
    etag = resp["ETag"]
    resp = anonymous.get(by_id, HTTP_HOST=cozy.host, HTTP_RANGE="bytes=2-4")
    assert resp.status_code == 206 and b"".join(resp.streaming_content) == b"234"
    assert anonymous.get(by_id, HTTP_HOST=cozy.host, HTTP_IF_NONE_MATCH=etag).status_code == 304
    by_path = link("Path=/docs/r%C3%A9%20port.txt")
    assert b"".join(anonymous.get(by_path, HTTP_HOST=cozy.host).streaming_content) == b"0123456789"

    version_id = cozy.put(fid, b"new").json()["included"][0]["id"]
    by_version = link(f"VersionId={version_id}&Filename=old.txt")
    resp = anonymous.get(by_version, HTTP_HOST=cozy.host)
    assert b"".join(resp.streaming_content) == b"0123456789"
    assert "old.txt" in resp["Content-Disposition"]
    # bound to the content: the link by id still gives the bytes it was made for
    assert b"".join(anonymous.get(by_id, HTTP_HOST=cozy.host).streaming_content) == b"0123456789"

    # another instance's host, a forged or an expired secret: 404
    other, _ = make_instance("dave.localhost", "dave")
    assert anonymous.get(by_id, HTTP_HOST=other.domain).status_code == 404
    secret = by_id.split("/")[3]
    assert anonymous.get(f"/files/downloads/{secret[:-2]}xx/a.txt", HTTP_HOST=cozy.host).status_code == 404
    monkeypatch.setattr(links, "LINK_TTL", -1)
    assert anonymous.get(by_id, HTTP_HOST=cozy.host).status_code == 404
    assert cozy.post("/files/downloads").status_code == 404  # nothing named
    assert cozy.post(f"/files/downloads?Id={dir_id}").status_code == 404  # a directory has no content
    assert cozy.post("/files/downloads?VersionId=no-slash").status_code == 400
    assert cozy.post("/files/downloads?Path=/nope").status_code == 404
    assert anonymous.post(f"/files/downloads?Id={fid}", HTTP_HOST=cozy.host).status_code == 401


def feed(cozy: Cozy, since: str, **params) -> dict:
    from urllib.parse import urlencode

    resp = cozy.get("/files/_changes?" + urlencode({"since": since, **params}))
    assert resp.status_code == 200, resp.content
    return resp.json()


def test_change_feed_sees_every_change(cozy):
    start = feed(cozy, "0")
    assert {r["id"] for r in start["results"]} >= {ROOT, "io.cozy.files.trash-dir"}
    last = start["last_seq"]
    assert feed(cozy, "now")["results"] == [] and feed(cozy, "now")["last_seq"] == last

    def step(action, expected_id: str | None, *, deleted: bool = False) -> None:
        nonlocal last
        resp = action()
        assert resp.status_code in (200, 201, 204), resp.content
        expected_id = expected_id or doc_id(resp)
        got = feed(cozy, last, include_docs="true")
        assert int(got["last_seq"]) > int(last)
        mine = [r for r in got["results"] if r["id"] == expected_id]
        assert len(mine) == 1, got
        assert mine[0].get("deleted", False) is deleted
        if not deleted:
            node = Node.objects.get(doc_id=expected_id)
            assert mine[0]["changes"][0]["rev"] == node.rev == mine[0]["doc"]["_rev"]
            assert mine[0]["doc"]["path"]
        last = got["last_seq"]

    dir_id = doc_id(cozy.mkdir("d"))
    step(lambda: cozy.mkdir("e"), None)
    step(lambda: cozy.upload("x.txt", b"x"), None)
    fid = Node.objects.get(name="x.txt").doc_id
    step(lambda: cozy.put(fid, b"xx"), fid)
    step(lambda: patch(cozy, fid, name="y.txt"), fid)
    step(lambda: patch(cozy, fid, dir_id=dir_id), fid)
    step(lambda: patch(cozy, fid, tags=["t"]), fid)
    step(lambda: cozy.delete(f"/files/{dir_id}"), fid)  # the file below the trashed directory changed too
    step(lambda: cozy.post(f"/files/trash/{dir_id}"), dir_id)
    step(lambda: patch(cozy, fid, permanent_delete=True), fid, deleted=True)

    everything = feed(cozy, "0")
    seqs = [int(r["seq"]) for r in everything["results"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert everything["pending"] == 0
    assert [r["id"] for r in everything["results"] if r.get("deleted")] == [fid]
    assert fid not in {r["id"] for r in feed(cozy, "0", skip_deleted="true")["results"]}

    walked, since = [], "0"
    while True:
        page = feed(cozy, since, limit=2)
        walked += page["results"]
        since = page["last_seq"]
        if not page["pending"]:
            break
    assert walked == everything["results"]
    assert cozy.get("/files/_changes?since=garbage").status_code == 400


def test_upload_metadata_and_versions(cozy):
    body = {"data": {"type": "io.cozy.files.metadata", "attributes": {"datetime": "2020-01-01T00:00:00Z", "n": 3}}}
    resp = cozy.client.post("/files/upload/metadata", data=json.dumps(body), content_type="application/json",
                            **cozy._h())
    assert resp.status_code == 201, resp.content
    metadata_id = resp.json()["data"]["id"]
    resp = cozy.client.post(f"/files/{ROOT}?Type=file&Name=p.jpg&MetadataID={metadata_id}", data=b"jpg",
                            content_type="image/jpeg", **cozy._h())
    assert resp.status_code == 201, resp.content
    fid = doc_id(resp)
    assert resp.json()["data"]["attributes"]["metadata"] == {"datetime": "2020-01-01T00:00:00Z", "n": 3}
    rev = resp.json()["data"]["meta"]["rev"]
    new = {"data": {"type": "io.cozy.files.metadata", "attributes": {"datetime": "2021-01-01T00:00:00Z"}}}
    resp = cozy.client.post(f"/files/{fid}/versions", data=json.dumps(new), content_type="application/json",
                            **cozy._h())
    assert resp.status_code == 200, resp.content
    assert resp.json()["data"]["attributes"]["metadata"] == {"datetime": "2021-01-01T00:00:00Z"}
    assert resp.json()["data"]["meta"]["rev"] != rev
    # a forged id, another instance's id: 400, nothing stored
    resp = cozy.client.post(f"/files/{ROOT}?Type=file&Name=q.jpg&MetadataID={metadata_id[:-3]}abc", data=b"x",
                            content_type="image/jpeg", **cozy._h())
    assert resp.status_code == 400 and not Node.objects.filter(name="q.jpg").exists()
    other, token = make_instance("erin.localhost", "erin")
    theirs = Cozy(other, token, Client())
    resp = theirs.client.post(f"/files/{ROOT}?Type=file&Name=q.jpg&MetadataID={metadata_id}", data=b"x",
                              content_type="image/jpeg", **theirs._h())
    assert resp.status_code == 400
    huge = {"data": {"attributes": {"x": "y" * 40000}}}
    resp = cozy.client.post("/files/upload/metadata", data=json.dumps(huge), content_type="application/json",
                            **cozy._h())
    assert resp.status_code == 400


def post_version(cozy: Cozy, file_id: str, metadata: dict, query: str = ""):
    body = {"data": {"type": "io.cozy.files.metadata", "attributes": metadata}}
    return cozy.client.post(f"/files/{file_id}/versions{query}", data=json.dumps(body),
                            content_type="application/json", **cozy._h())


def test_post_versions_keeps_the_current_content_as_a_version(cozy, s3_client, settings):
    from tests.test_files_api import objects

    fid = doc_id(cozy.upload("v.txt", b"first"))
    patch(cozy, fid, tags=["keep"])
    assert cozy.put(fid, b"second").status_code == 200
    node = Node.objects.get(doc_id=fid)
    content_id, rev = node.content_id, node.rev
    before = objects(cozy, s3_client)
    resp = post_version(cozy, fid, {"label": "x"})
    assert resp.status_code == 200, resp.content
    doc = resp.json()
    assert doc["data"]["attributes"]["metadata"] == {"label": "x"} and doc["data"]["meta"]["rev"] != rev
    assert doc["data"]["attributes"]["tags"] == ["keep"]  # no Tags parameter: kept
    # the rows: a second version with the current content; the file keeps its content id
    node.refresh_from_db()
    versions = list(node.versions.all())
    assert node.content_id == content_id and node.md5 == hashlib.md5(b"second").hexdigest()
    assert len(versions) == 2 and versions[0].md5 == node.md5 and versions[0].size == 6
    assert versions[0].content_id not in (content_id, versions[1].content_id)
    # the listing: the version in the document, under its <file id>/<rev> id
    ids = [v["id"] for v in doc["data"]["relationships"]["old_versions"]["data"]]
    assert ids[0] == f"{fid}/{versions[0].content_id}" and len(ids) == 2
    assert [v["id"] for v in doc["included"]] == ids and doc["included"][0]["attributes"]["size"] == "6"
    assert [v["id"] for v in cozy.get(f"/files/{fid}").json()["included"]] == ids
    # the bytes: one more object, a copy with its MD5, downloadable by the version's id
    after = objects(cozy, s3_client)
    assert len(after) == len(before) + 1 and set(before) < set(after)
    copy_key = content_key(cozy.instance, fid, versions[0].content_id)
    assert copy_key in after
    assert s3_client.stat_object(org_bucket(cozy.instance), copy_key).metadata.get("x-amz-meta-md5") == node.md5
    resp = cozy.get(f"/files/download/{ids[0]}")
    assert resp.status_code == 200 and b"".join(resp.streaming_content) == b"second"
    resp = cozy.get(f"/files/download/{ids[1]}")
    assert b"".join(resp.streaming_content) == b"first"
    # Tags replace the tags; pruning the oldest versions never touches the file's content
    settings.COZY_MAX_VERSIONS = 1
    resp = post_version(cozy, fid, {"label": "y"}, "?Tags=a,b,a")
    assert resp.status_code == 200, resp.content
    assert resp.json()["data"]["attributes"]["tags"] == ["a", "b"]
    assert Version.objects.filter(file=node).count() == 1
    left = objects(cozy, s3_client)
    assert len(left) == 2 and content_key(cozy.instance, fid, content_id) in left
    assert cozy.download(fid) == b"second"
    # bad input and no room: 4xx, nothing stored
    assert post_version(cozy, ROOT, {}).status_code == 409  # a directory has no versions
    assert post_version(cozy, "no-such-file", {}).status_code == 404
    assert cozy.client.post(f"/files/{fid}/versions", data="[", content_type="application/json",
                            **cozy._h()).status_code in (400, 422)
    cozy.instance.quota_bytes = 6 + 6 + 3
    cozy.instance.save(update_fields=["quota_bytes"])  # save(): the host lookup cache forgets the row
    assert post_version(cozy, fid, {"label": "z"}).status_code == 413
    assert objects(cozy, s3_client) == left and Node.objects.get(doc_id=fid).metadata == {"label": "y"}


def test_references(cozy):
    a = doc_id(cozy.upload("a.jpg", b"a"))
    b = doc_id(cozy.upload("b.jpg", b"b"))
    album = {"type": "io.cozy.photos.albums", "id": "album1"}

    def send(method: str, path: str, data) -> object:
        return getattr(cozy.client, method)(path, data=json.dumps({"data": data}), content_type="application/json",
                                            **cozy._h())

    rev = Node.objects.get(doc_id=a).rev
    resp = send("post", f"/files/{a}/relationships/referenced_by", [album, {"type": "io.cozy.bills", "id": "x"}])
    assert resp.status_code == 200, resp.content
    assert resp.json()["meta"]["count"] == 2 and resp.json()["meta"]["rev"] != rev
    resp = send("post", "/data/io.cozy.photos.albums/album1/relationships/references",
                [{"type": "io.cozy.files", "id": b}])
    assert resp.status_code == 204
    resp = cozy.get("/data/io.cozy.photos.albums/album1/relationships/references?include=files&page[limit]=1")
    doc = resp.json()
    assert doc["meta"]["count"] == 2 and len(doc["data"]) == 1 and doc["links"]["next"]
    assert doc["included"][0]["relationships"]["referenced_by"]["data"][0]["type"] in ("io.cozy.photos.albums",
                                                                                       "io.cozy.bills")
    rest = cozy.get(doc["links"]["next"]).json()["data"]
    assert {doc["data"][0]["id"], rest[0]["id"]} == {a, b}
    found = cozy.client.post("/files/_find", data=json.dumps({"selector": {
        "referenced_by": {"$elemMatch": {"type": "io.cozy.photos.albums", "id": "album1"}}}}),
        content_type="application/json", **cozy._h()).json()
    assert {d["id"] for d in found["data"]} == {a, b}
    resp = send("delete", f"/files/{a}/relationships/referenced_by", album)
    assert resp.json()["data"] == [{"type": "io.cozy.bills", "id": "x"}]
    assert send("delete", "/data/io.cozy.photos.albums/album1/relationships/references",
                [{"type": "io.cozy.files", "id": b}]).status_code == 204
    assert cozy.get("/data/io.cozy.photos.albums/album1/relationships/references").json()["meta"]["count"] == 0
    assert cozy.get(f"/files/{a}/relationships/referenced_by").json()["meta"]["count"] == 1
    # bad input: 4xx, nothing changed
    bad = [{"type": "Bad Type!", "id": "1"}]
    assert send("post", f"/files/{a}/relationships/referenced_by", bad).status_code == 400
    assert send("post", f"/files/{a}/relationships/referenced_by", []).status_code == 400
    assert send("post", "/data/io.cozy.photos.albums/z/relationships/references",
                [{"type": "io.cozy.files", "id": "missing"}]).status_code == 404
    assert send("post", "/data/io.cozy.photos.albums/z/relationships/references",
                [{"type": "io.cozy.bills", "id": a}]).status_code == 400
    assert cozy.get(f"/files/{a}/relationships/referenced_by").json()["meta"]["count"] == 1


def test_copy_is_a_server_side_copy(cozy, s3_client):
    from tests.test_files_api import objects

    dir_id = doc_id(cozy.mkdir("dst"))
    fid = doc_id(cozy.upload("photo.jpg", b"jpeg" * 1000, content_type="image/jpeg"))
    patch(cozy, fid, tags=["x"])
    resp = cozy.post(f"/files/{fid}/copy")
    assert resp.status_code == 201, resp.content
    first = resp.json()["data"]
    assert first["attributes"]["name"] == "photo (copy).jpg" and first["attributes"]["tags"] == ["x"]
    assert first["id"] != fid and cozy.download(first["id"]) == b"jpeg" * 1000
    second = cozy.post(f"/files/{fid}/copy").json()["data"]
    assert second["attributes"]["name"] == "photo (copy) (2).jpg"
    third = cozy.post(f"/files/{fid}/copy?Name=other.jpg&DirID={dir_id}").json()["data"]
    assert third["attributes"]["path"] == "/dst/other.jpg"
    keys = objects(cozy, s3_client)
    assert len(keys) == 4 and len({k.split("/")[2] for k in keys}) == 4  # each copy in its own folder
    info = s3_client.stat_object(org_bucket(cozy.instance), next(k for k in keys if third["id"] in k))
    assert info.metadata.get("x-amz-meta-md5") == Node.objects.get(doc_id=fid).md5
    assert info.content_type == "image/jpeg"
    # a taken name, a directory, over quota: 4xx and no object left behind
    assert cozy.post(f"/files/{fid}/copy?Name=other.jpg&DirID={dir_id}").status_code == 409
    assert cozy.post(f"/files/{dir_id}/copy").status_code == 409
    cozy.instance.quota_bytes = 4000 * 4 + 100
    cozy.instance.save(update_fields=["quota_bytes"])  # save(): the host lookup cache forgets the row
    assert cozy.post(f"/files/{fid}/copy").status_code == 413
    assert objects(cozy, s3_client) == keys


def test_openapi_covers_the_client_routes(cozy):
    paths = Client().get("/api/openapi.json").json()["paths"]
    for path, method in [
        ("/files/metadata", "get"), ("/files/_find", "post"), ("/files/_all_docs", "post"),
        ("/data/io.cozy.files/_all_docs", "get"), ("/data/io.cozy.files/_normal_docs", "get"),
        ("/files/downloads", "post"), ("/files/downloads/{secret}/{name}", "get"), ("/files/_changes", "get"),
        ("/files/upload/metadata", "post"), ("/files/{file_id}/versions", "post"), ("/files/{file_id}/copy", "post"),
        ("/files/{file_id}/relationships/referenced_by", "delete"),
        ("/data/{doctype}/{doc_id}/relationships/references", "get"), ("/files/{file_id}", "patch"),
    ]:
        assert method in paths.get(path, {}), (path, method)
    assert paths["/files/downloads/{secret}/{name}"]["get"].get("security") in (None, [])
