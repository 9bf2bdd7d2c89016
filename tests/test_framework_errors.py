"""Errors that Django or django-ninja make themselves (not our handlers) are JSON:API too,
for API clients: a method no route declares (405, with Allow), a body that is not JSON,
a body over Django's cap, a refused CSRF check, a request Django cannot read, a crash."""

from __future__ import annotations

import json

import pytest
from django.test import Client, RequestFactory

from cozy.core import views
from tests.cozyclient import ROOT, Cozy, make_instance

pytestmark = pytest.mark.django_db(transaction=True)
JSONAPI = "application/vnd.api+json"


@pytest.fixture
def cozy(fs_url, s3_client) -> Cozy:
    instance, token = make_instance("framework.localhost", "grace")
    return Cozy(instance, token, Client())


def assert_jsonapi(resp, status: int, title: str) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.content[:300])
    assert resp["Content-Type"] == JSONAPI
    body = json.loads(resp.content)
    assert list(body) == ["errors"] and len(body["errors"]) == 1
    error = body["errors"][0]
    assert error["status"] == str(status) and error["title"] == title and error["detail"]
    assert "Traceback" not in resp.content.decode()
    return error


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("put", "/files/_find", "POST"),
    ("delete", "/files/_changes", "GET, HEAD"),  # every GET route answers HEAD
    ("get", "/files/archive", "POST"),
    ("patch", "/files/trash", "DELETE"),
    ("put", f"/files/{ROOT}/copy", "POST"),
    ("patch", "/data/io.cozy.files/_all_docs", "GET, HEAD"),
    ("delete", "/settings/disk-usage", "GET, HEAD"),
])
def test_a_method_no_route_declares_is_a_jsonapi_405_with_allow(cozy, method, path, allow):
    resp = getattr(cozy.client, method)(path, **cozy._h())
    error = assert_jsonapi(resp, 405, "Method Not Allowed")
    assert resp["Allow"] == allow
    assert allow in error["detail"]


def test_allow_lists_every_method_of_the_path_in_order(cozy):
    resp = cozy.client.put(f"/files/{ROOT}/relationships/referenced_by", **cozy._h())
    assert_jsonapi(resp, 405, "Method Not Allowed")
    assert resp["Allow"] == "DELETE, GET, HEAD, POST"


def test_a_head_gets_the_405_headers_without_a_body(cozy):
    resp = cozy.client.head("/files/archive", **cozy._h())
    assert resp.status_code == 405 and resp["Content-Type"] == JSONAPI and resp["Allow"] == "POST"
    assert resp.content == b""


def test_a_body_that_is_not_json_is_a_jsonapi_400(cozy):
    resp = cozy.client.patch(f"/files/{ROOT}", data=b"{not json", content_type="application/json", **cozy._h())
    assert assert_jsonapi(resp, 400, "Bad Request")["detail"] == "the request body is not valid JSON"


def test_a_json_body_over_djangos_cap_is_a_jsonapi_413(cozy, settings):
    body = json.dumps({"data": {"attributes": {"name": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}}})
    resp = cozy.client.patch(f"/files/{ROOT}", data=body, content_type="application/json", **cozy._h())
    assert_jsonapi(resp, 413, "Payload Too Large")


def test_a_post_to_no_route_is_a_404_not_a_csrf_page(db):
    resp = Client(enforce_csrf_checks=True).post("/files/_nothing/here", HTTP_HOST="localhost")
    assert_jsonapi(resp, 404, "Not Found")


def test_a_refused_csrf_check_is_jsonapi_for_api_clients_and_a_page_for_browsers(db):
    api = Client(enforce_csrf_checks=True).post("/auth/login", {"username": "a"}, HTTP_HOST="localhost")
    assert_jsonapi(api, 403, "Forbidden")
    page = Client(enforce_csrf_checks=True).post("/auth/login", {"username": "a"}, HTTP_HOST="localhost",
                                                 HTTP_ACCEPT="text/html")
    assert page.status_code == 403 and page["Content-Type"].startswith("text/html")


def test_a_bad_host_is_a_jsonapi_400(db):
    resp = Client().get("/files/io.cozy.files.root-dir", HTTP_HOST="evil.example")
    assert_jsonapi(resp, 400, "Bad Request")


def test_djangos_crash_page_is_jsonapi_for_api_clients(db):
    request = RequestFactory().get("/anything")
    assert_jsonapi(views.server_error(request), 500, "Internal Server Error")
    browser = RequestFactory().get("/anything", HTTP_ACCEPT="text/html")
    assert views.server_error(browser)["Content-Type"].startswith("text/html")
