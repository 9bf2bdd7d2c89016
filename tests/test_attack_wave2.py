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


@pytest.fixture
def app(fs_url, tmp_path):
    ensure_system_buckets()
    instance, _ = make_instance("web.localhost", "wendy")
    routes = {"/": {"folder": "/", "index": "index.html", "public": False},
              "/public": {"folder": "/pub", "index": "index.html", "public": True}}
    files = {"manifest.webapp": manifest("drive", "1.0.0", routes=routes), "index.html": b"<p>{{.Token}}</p>",
             "secret.json": b'{"private": true}', "pub/index.html": b"<p>public</p>", "pub/ok.txt": b"ok"}
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


@pytest.mark.parametrize("raw", ["[" * 100_000 + "]" * 100_000, '{"selector": ' + '{"$not": ' * 50_000 + "{}" + "}" * 50_001],
                         ids=["arrays", "nots"])
def test_a_deeply_nested_body_is_a_400(cozy, raw):
    resp = cozy.client.post("/files/_find", data=raw, content_type="application/json", **cozy._h())
    assert resp.status_code == 400, resp.content


@pytest.mark.parametrize("path", ["/public/ok.txt%00", "/public/%00/../ok.txt", "/public/ok.txt%0a"])
def test_nul_and_control_characters_in_app_paths_are_404(app, path):
    assert _get(path)[0].status_code == 404


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
