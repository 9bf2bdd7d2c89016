"""Wave-2 features tried as an attacker or a careless client would: app paths, Mango breadth."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from cozy.apps import installs
from cozy.apps.models import Kind
from cozy.storage.buckets import ensure_system_buckets
from tests.apptars import make_tar, manifest
from tests.cozyclient import Cozy, make_instance

pytestmark = pytest.mark.django_db(transaction=True)
APP_JS = b"function f(){return 1}\n" * 2000  # stored brotli


@pytest.fixture
def app(fs_url, tmp_path):
    ensure_system_buckets()
    instance, _ = make_instance("web.localhost", "wendy")
    routes = {"/": {"folder": "/", "index": "index.html", "public": False},
              "/public": {"folder": "/pub", "index": "index.html", "public": True}}
    files = {"manifest.webapp": manifest("drive", "1.0.0", routes=routes), "index.html": b"<p>{{.Token}}</p>",
             "secret.json": b'{"private": true}', "pub/index.html": b"<p>public</p>", "pub/ok.txt": b"ok",
             "pub/app.js": APP_JS}
    installs.install(instance, Kind.WEB, "drive", f"file://{make_tar(tmp_path / 'd.tar.gz', files)}")
    return instance


def _get(path: str, host: str = "drive.web.localhost"):
    resp = Client().get(path, HTTP_HOST=host)
    return resp, (b"".join(resp.streaming_content) if resp.streaming else resp.content)


@pytest.mark.parametrize("path", ["/public/../secret.json", "/public/%2e%2e/secret.json", "/public/..%2fsecret.json",
                                  "/public/x/../../secret.json", "/public/../index.html"])
def test_a_public_route_never_reaches_out_of_its_folder(app, path):
    resp, body = _get(path)
    assert resp.status_code in (302, 404), (resp.status_code, body)
    assert b"private" not in body and b"<p>" not in body


def test_public_files_are_still_served(app):
    assert _get("/public/ok.txt")[1] == b"ok"
    assert _get("/public/./ok.txt")[1] == b"ok"


@pytest.fixture
def cozy(fs_url, s3_client) -> Cozy:
    instance, token = make_instance("attack.localhost", "mallory")
    return Cozy(instance, token, Client())


def _find(cozy: Cozy, body) -> tuple[int, dict]:
    resp = cozy.client.post("/files/_find", data=json.dumps(body), content_type="application/json", **cozy._h())
    return resp.status_code, resp.json()


@pytest.mark.parametrize("selector", [
    {"$or": [{"name": f"n{i}"} for i in range(5000)]},
    {"$and": [{"size": {"$gt": i}} for i in range(5000)]},
    {"$or": [{"_id": {"$in": [f"{i}-{j}" for j in range(1000)]}} for i in range(60)]},
    {"name": {"$nin": [str(i) for i in range(1000)]}, "$or": [{"mime": {"$in": [str(j) for j in range(1000)]}}] * 40},
])
def test_a_wide_selector_is_a_400_not_a_500(cozy, selector):
    status, body = _find(cozy, {"selector": selector})
    assert status in (200, 400), (status, body)
    if status == 400:
        assert "errors" in body


NOTS = '{"selector": ' + '{"$not": ' * 50_000 + "{}" + "}" * 50_001


@pytest.mark.parametrize("raw", ["[" * 100_000 + "]" * 100_000, NOTS], ids=["arrays", "nots"])
def test_a_deeply_nested_body_is_a_400(cozy, raw):
    resp = cozy.client.post("/files/_find", data=raw, content_type="application/json", **cozy._h())
    assert resp.status_code == 400, resp.content


@pytest.mark.parametrize(("path", "status"), [("/public/ok.txt%00", 400), ("/public/%00/../ok.txt", 400),
                                            ("/public/ok.txt%0a", 404)])
def test_nul_and_control_characters_in_app_paths_are_refused(app, path, status):
    assert _get(path)[0].status_code == status  # a NUL is refused in any URL (cozy.core.middleware)


def test_dot_dot_at_the_root_stays_there(app):
    resp, _ = _get("/../../public/ok.txt")
    assert resp.status_code == 200 and _get("/../../public/ok.txt")[1] == b"ok"
    assert _get("/public/x/../ok.txt")[1] == b"ok"


def test_selectors_just_under_the_bounds_run(cozy):
    from cozy.files.mango import MAX_TERMS, MAX_VALUES

    cozy.upload("a.txt", b"a")
    wide = {"$or": [{"size": {"$gt": i}} for i in range(MAX_TERMS // 2 - 1)]}
    status, body = _find(cozy, {"selector": wide})
    assert status == 200 and [d["attributes"]["name"] for d in body["data"]] == ["a.txt"]
    many = {"$or": [{"_id": {"$in": [f"x{i}-{j}" for j in range(1000)]}} for i in range(MAX_VALUES // 1000 - 1)]}
    assert _find(cozy, {"selector": many})[0] == 200
    status, body = _find(cozy, {"selector": {"$or": [{"name": "a"}] * MAX_TERMS}})
    assert status == 400 and "at most" in body["errors"][0]["detail"]


# -- isolation: another instance's ids, secrets and tokens -------------------------------------
@pytest.fixture
def pair(fs_url, s3_client) -> tuple[Cozy, Cozy]:
    a, ta = make_instance("alice.localhost", "alice", org="org-a")
    b, tb = make_instance("bob.localhost", "bob", org="org-b")
    return Cozy(a, ta, Client()), Cozy(b, tb, Client())


@pytest.mark.parametrize("condition", [{"$eq": None}, None, {"$in": ["io.cozy.files.root-dir"]},
                                       {"$eq": "io.cozy.files.root-dir", "$ne": None}, {"$gt": None}])
def test_find_by_dir_id_sees_only_this_instance(pair, condition):
    alice, bob = pair
    bob.upload("bob-secret.txt", b"b")
    alice.upload("mine.txt", b"a")
    status, body = _find(alice, {"selector": {"dir_id": condition}})
    assert status in (200, 400), body
    names = [d["attributes"]["name"] for d in body.get("data", [])]
    assert "bob-secret.txt" not in names
    assert len(names) == len({d["id"] for d in body.get("data", [])})


# -- copies ----------------------------------------------------------------------------------
def _copy(cozy: Cozy, file_id: str, query: str = ""):
    return cozy.client.post(f"/files/{file_id}/copy{query}", **cozy._h())


@pytest.mark.parametrize("name", ["é" * 126 + ".t", "x" * 255, "a" * 250 + ".jpeg", "a." + "b" * 252],
                         ids=["two-byte", "no-dot", "jpeg", "long-ext"])
def test_a_copy_of_a_long_name_stays_within_255_bytes(cozy, name):
    source = cozy.upload(name, b"long")
    assert source.status_code == 201, source.content
    for _ in range(2):
        resp = _copy(cozy, source.json()["data"]["id"])
        assert resp.status_code == 201, resp.content
        copied = resp.json()["data"]["attributes"]["name"]
        assert len(copied.encode()) <= 255 and "(copy)" in copied
        assert copied.endswith(".jpeg") if name.endswith(".jpeg") else True
        assert copied == copied.strip()


def test_copies_and_versions_never_cross_instances(pair):
    alice, bob = pair
    theirs = bob.upload("theirs.txt", b"bob's").json()["data"]["id"]
    their_dir = bob.mkdir("Inbox").json()["data"]["id"]
    mine = alice.upload("mine.txt", b"alice's").json()["data"]["id"]
    assert _copy(alice, theirs).status_code == 404
    assert _copy(alice, mine, f"?DirID={their_dir}").status_code == 404
    meta = json.dumps({"data": {"type": "io.cozy.files.metadata", "attributes": {"k": "v"}}})
    assert alice.client.post(f"/files/{theirs}/versions", data=meta, content_type="application/json",
                             **alice._h()).status_code == 404
    resp = bob.get(f"/files/{their_dir}")
    assert resp.json()["meta"]["count"] == 0 if "meta" in resp.json() else resp.json()["included"] == []
    assert bob.download(theirs) == b"bob's"


def test_references_never_cross_instances(pair):
    alice, bob = pair
    theirs = bob.upload("theirs.txt", b"bob's").json()["data"]["id"]
    body = json.dumps({"data": [{"type": "io.cozy.files", "id": theirs}]})
    resp = alice.client.post("/data/io.cozy.photos.albums/al1/relationships/references", data=body,
                             content_type="application/json", **alice._h())
    assert resp.status_code == 404, resp.content
    ref = json.dumps({"data": {"type": "io.cozy.photos.albums", "id": "al1"}})
    resp = alice.client.post(f"/files/{theirs}/relationships/referenced_by", data=ref,
                             content_type="application/json", **alice._h())
    assert resp.status_code == 404
    resp = alice.get("/data/io.cozy.photos.albums/al1/relationships/references")
    assert resp.status_code == 200 and resp.json()["data"] == []


@pytest.mark.parametrize("host,status", [
    ("DRIVE.WEB.LOCALHOST", 200), ("drive.web.localhost.", 200), ("drive.web.localhost:8000", 200),
    ("Web-Drive.localhost", 200), ("evil.web.localhost", 404), ("drive.drive.web.localhost", 404),
    ("xn--drve-5qa.web.localhost", 404), ("drive..web.localhost", 404), ("-drive.web.localhost", 404),
    ("web-.localhost", 404), ("drive.web.localhost@evil.org", 400),
])
def test_odd_app_hosts(app, host, status):
    resp, body = _get("/public/ok.txt", host)
    assert resp.status_code == status, (resp.status_code, body[:200])
    assert (body == b"ok") == (status == 200)


# -- avatars ---------------------------------------------------------------------------------
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<html><script>alert(document.cookie)</script></html>"


@pytest.mark.parametrize("body,ctype,status", [
    (SVG, "image/png", 415), (HTML, "image/jpeg", 415), (b"\x89PNG\r\n\x1a\n" + HTML, "image/png", 415),
    (b"GIF89a" + SVG, "image/gif", 415), (b"", "image/png", 415),
], ids=["svg-as-png", "html-as-jpeg", "png-magic-html", "gif-magic-svg", "empty"])
def test_avatar_bodies_lying_about_their_type(pair, body, ctype, status):
    alice, _ = pair
    resp = alice.client.put("/settings/avatar", data=body, content_type=ctype, **alice._h())
    assert resp.status_code == status and resp.json()["errors"], resp.content
    got = Client().get("/public/avatar", HTTP_HOST=alice.host)
    assert got.status_code == 200 and got["Content-Type"] == "image/png" and HTML not in got.content
    assert b"<script" not in got.content


def test_an_avatar_stays_on_its_instance(pair):
    from tests.images import encoded, marked

    alice, bob = pair
    picture = encoded(marked(64, 64, 8), "PNG")
    resp = alice.client.put("/settings/avatar", data=picture, content_type="image/png",
                            **alice._h(HTTP_HOST=bob.host))
    assert resp.status_code in (401, 403)
    assert alice.client.delete("/settings/avatar", **alice._h(HTTP_HOST=bob.host)).status_code in (401, 403)
    assert alice.client.put("/settings/avatar", data=picture, content_type="image/png", **alice._h()).status_code == 204
    assert Client().get("/public/avatar?fallback=404", HTTP_HOST=bob.host).status_code == 404


# -- app sources over the API --------------------------------------------------------------
@pytest.mark.parametrize("source", ["file:///etc/passwd", "file:///nonexistent.tar.gz", "FILE:///etc/hostname",
                                    " file:///etc/passwd"])
def test_an_owner_cannot_install_from_the_servers_files(pair, source):
    alice, _ = pair
    from urllib.parse import quote

    for method in (alice.client.post, alice.client.put):
        resp = method(f"/apps/drive?Source={quote(source)}", **alice._h())
        assert resp.status_code in (400, 404), resp.content
        if resp.status_code == 400:
            assert "file://" in resp.json()["errors"][0]["detail"]
    assert alice.get("/apps/drive").status_code == 404


@pytest.mark.parametrize("body", [
    {"selector": []}, {"selector": "x"}, {"selector": {"name": {"$regex": "(a+)+$"}}},
    {"selector": {"name": {"$regex": "(?i)" + "a" * 10_000}}}, {"selector": {"size": {"$gt": "9" * 400}}},
    {"selector": {"size": {"$gt": 1e308}}}, {"selector": {"size": {"$in": [[1], {"a": 1}]}}},
    {"selector": {"created_at": {"$gt": "not a date"}}}, {"selector": {"metadata.": 1}},
    {"selector": {"metadata.a": {"$gt": {"b": 1}}}}, {"selector": {}, "sort": "name"},
    {"selector": {}, "sort": [{"name": "sideways"}]}, {"selector": {}, "limit": "ten"},
    {"selector": {}, "limit": 10**30}, {"selector": {}, "skip": -1}, {"selector": {}, "bookmark": "%%%"},
    {"selector": {}, "bookmark": {"a": 1}}, {"selector": {}, "fields": [1]}, {"selector": {"$where": "1"}},
    {"selector": {"tags": {"$size": -1}}}, {"selector": {"tags": {"$elemMatch": {"$regex": "."}}}},
    {"selector": {"referenced_by": {"$elemMatch": {"id": {"$gt": None}}}}}, {"selector": {"\x00": 1}},
    {"selector": {"name": "\x00"}}, {"selector": {"path": {"$gt": "/"}}},
    {"selector": {"_id": {"$in": ["\ud800"]}}}, {"selector": {"name": "\udfff"}},
    {"selector": {"metadata.\ud800": "x"}}, {"selector": {}, "sort": [{"metadata.\ud800": "asc"}]},
    {"selector": {"cozyMetadata.a": "\ud800"}}, {"selector": {"tags": {"$all": ["\ud800"]}}},
    {"selector": {"path": "/\ud800"}}, {"selector": {"dir_id": "\ud800"}}, {"selector": {"name": "a\x00"}},
], ids=lambda b: json.dumps(b)[:40])
def test_malformed_mango_is_a_400_with_a_message(cozy, body):
    status, doc = _find(cozy, body)
    assert status in (200, 400), (status, doc)
    if status == 400:
        assert doc["errors"][0]["detail"]
    if "\ud800" in json.dumps(body) or "\udfff" in json.dumps(body) or "\u0000" in json.dumps(body):
        assert status == 400 and ("Unicode" in doc["errors"][0]["detail"] or "NUL" in doc["errors"][0]["detail"])


def test_lone_surrogates_in_other_json_bodies_are_4xx(cozy):
    file_id = cozy.upload("s.txt", b"s").json()["data"]["id"]
    bad = "\ud800"
    tries = [
        ("post", "/files/_all_docs", {"keys": [bad]}),
        ("post", f"/files/{file_id}/relationships/referenced_by", {"data": {"type": "io.cozy.x", "id": bad}}),
        ("post", "/data/io.cozy.x/a/relationships/references", {"data": [{"type": "io.cozy.files", "id": bad}]}),
        ("patch", f"/files/{file_id}", {"data": {"attributes": {"tags": [bad]}}}),
        ("patch", f"/files/{file_id}", {"data": {"attributes": {"cozyMetadata": {bad: 1}}}}),
        ("post", "/files/upload/metadata", {"data": {"type": "io.cozy.files.metadata", "attributes": {"a": bad}}}),
        ("post", f"/files/{file_id}/versions", {"data": {"type": "io.cozy.files.metadata", "attributes": {bad: 1}}}),
        ("post", "/files/archive", {"data": {"attributes": {"name": "a", "ids": [bad]}}}),
    ]
    for method, path, body in tries:
        resp = getattr(cozy.client, method)(path, data=json.dumps(body), content_type="application/json",
                                            **cozy._h())
        assert 400 <= resp.status_code < 500, (path, resp.status_code, resp.content)


# -- thumbnail secrets -----------------------------------------------------------------------
def test_thumbnail_secrets_after_copy_trash_and_delete(pair):
    from tests.images import encoded, marked

    alice, bob = pair
    photo = alice.upload("p.png", encoded(marked(50, 50, 5), "PNG"), content_type="image/png").json()["data"]
    url = photo["links"]["tiny"]
    secret = url.split("/")[4]
    copied = _copy(alice, photo["id"]).json()["data"]["id"]
    for path in (url.replace(photo["id"], copied), f"/files/{copied}/icon/{secret}",
                 f"/files/{copied}/preview/{secret}"):
        resp = Client().get(path, HTTP_HOST=alice.host)
        assert resp.status_code == 403 and resp.json()["errors"], path
    assert Client().get(url, HTTP_HOST=bob.host).status_code == 403
    assert Client().get(url, HTTP_HOST=f"tiny.{alice.host}").status_code == 404  # an app host, no such app
    assert alice.delete(f"/files/{photo['id']}").status_code == 200
    assert alice.delete(f"/files/trash/{photo['id']}").status_code == 204
    gone = Client().get(url, HTTP_HOST=alice.host)
    assert gone.status_code == 404 and gone["Content-Type"].startswith("application/vnd.api+json")


@pytest.mark.parametrize("header", ["bytes=-0", "bytes=5-2", "bytes=0-0,2-3", "bytes=99999999999999999999-",
                                    "bytes=-99999999999999999999", "bytes=0-" + "9" * 30, "bits=0-1", "bytes=a-b",
                                    "bytes=" + "0-1," * 2000, "bytes=46000-"])
@pytest.mark.parametrize("encoding", ["br", ""])
def test_odd_ranges_on_app_files(app, header, encoding):
    resp = Client().get("/public/app.js", HTTP_HOST="drive.web.localhost", HTTP_RANGE=header,
                        HTTP_ACCEPT_ENCODING=encoding)
    body = b"".join(resp.streaming_content) if resp.streaming else resp.content
    assert resp.status_code in (200, 206, 416), (resp.status_code, body[:200])
    if resp.status_code == 206:
        start, end = (int(x) for x in resp["Content-Range"].split()[1].split("/")[0].split("-"))
        assert "Content-Encoding" not in resp and body == APP_JS[start:end + 1]
    if resp.status_code == 200 and not encoding:
        assert body == APP_JS


def test_another_instances_owner_gets_no_private_app_file(app, fs_url):
    other, _ = make_instance("other.localhost", "oscar")
    client = Client()
    client.force_login(other.owner)  # a session cookie shared across subdomains reaches the app host too
    for path in ("/secret.json", "/", "/public/../secret.json"):
        resp = client.get(path, HTTP_HOST="drive.web.localhost")
        assert resp.status_code == 302 and resp["Location"].startswith("http://web.localhost/auth/login")
    owner = Client()
    owner.force_login(app.owner)
    resp = owner.get("/public/../secret.json", HTTP_HOST="drive.web.localhost")
    assert resp.status_code == 200 and b"".join(resp.streaming_content) == b'{"private": true}'


@pytest.mark.parametrize("query", ["since=-1", "since=" + "9" * 60, "since=now%20", "since=1e5", "since=0x10",
                                   "limit=0", "limit=" + "9" * 25, "limit=-5", "include_docs=maybe",
                                   "since=0&fields=" + "a," * 5000, "since=%00", "skip_deleted=2"])
def test_odd_changes_parameters_are_4xx_json(cozy, query):
    cozy.upload("c.txt", b"c")
    resp = cozy.get(f"/files/_changes?{query}")
    assert resp.status_code in (200, 400), (resp.status_code, resp.content[:300])
    assert resp["Content-Type"].startswith("application/")
    if resp.status_code == 400:
        assert resp.json()["errors"][0]["detail"]


def test_the_widest_allowed_selector_answers_quickly(cozy):
    import time

    for i in range(20):
        cozy.upload(f"f{i}.txt", b"x")
    terms = [{"name": {"$regex": f"(?i){'a' * 200}{i}"}} for i in range(90)]
    terms += [{"_id": {"$in": [f"id-{k}-{j}" for j in range(1000)]}} for k in range(4)]
    started = time.monotonic()
    status, body = _find(cozy, {"selector": {"$or": terms}, "sort": [{"name": "desc"}]})
    elapsed = time.monotonic() - started
    assert status == 200 and body["data"] == [], body
    assert elapsed < 5, elapsed
    print(f"widest selector: {elapsed:.2f} s")
