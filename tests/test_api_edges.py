"""Request edges every route shares: undecodable query strings, bad Host headers, HEAD, unknown paths."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from cozy.files.models import Node
from tests.cozyclient import ROOT, TRASH, Cozy, make_instance
from tests.httpserver import start_gunicorn, stop
from tests.test_files_api import assert_error

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cozy(fs_url, s3_client) -> Cozy:
    instance, token = make_instance("apiedges.localhost", "ada")
    return Cozy(instance, token, Client())


@pytest.mark.parametrize("raw", ["bad%ffname", "overlong%c0%af", "surrogate%ed%a0%80", "cut%e2%82"])
@pytest.mark.parametrize("kind", ["file", "directory"])
def test_a_name_that_is_not_utf8_is_a_400_and_stores_nothing(cozy, raw, kind):
    resp = cozy.client.post(f"/files/{ROOT}?Type={kind}&Name={raw}", data=b"x", content_type="text/plain",
                            **cozy._h())
    assert "UTF-8" in assert_error(resp, 400, cozy)["errors"][0]["detail"]
    assert resp["Content-Type"] == "application/vnd.api+json"
    assert not Node.objects.filter(instance=cozy.instance, parent__doc_id=ROOT).exclude(doc_id=TRASH).exists()


def test_valid_utf8_names_still_work(cozy):
    resp = cozy.client.post(f"/files/{ROOT}?Type=directory&Name=caf%C3%A9%20%F0%9F%98%80", **cozy._h())
    assert resp.status_code == 201, resp.content
    assert resp.json()["data"]["attributes"]["name"] == "café 😀"


def test_a_bad_host_is_one_log_line_without_its_text(db, caplog):
    evil = "evil.example\r\nforged: line"
    with caplog.at_level(logging.INFO):
        resp = Client().get("/files/io.cozy.files.root-dir", HTTP_HOST="evil.example")
        Client().get("/", HTTP_HOST=evil)
    assert resp.status_code == 400
    records = [r for r in caplog.records if r.name.startswith("django.security")]
    assert len(records) == 2
    for record in records:
        assert record.exc_info is None and record.exc_text is None
        assert "evil" not in record.getMessage() and "\n" not in record.getMessage()
        assert "ALLOWED_HOSTS" in record.getMessage()


def test_an_unknown_path_is_a_json_404_for_api_clients_and_a_page_for_browsers(db):
    api = Client().get("/no/such/path", HTTP_HOST="localhost")
    assert api.status_code == 404 and api["Content-Type"] == "application/vnd.api+json"
    assert api.json()["errors"][0]["status"] == "404"
    page = Client().get("/no/such/path", HTTP_HOST="localhost", HTTP_ACCEPT="text/html,*/*")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_under_gunicorn_head_has_no_body_and_a_bad_host_is_one_line(transactional_db, shared_fs_url, tmp_path):
    log_path = tmp_path / "gunicorn.log"
    server = start_gunicorn(shared_fs_url, log_path, extra_env={"ALLOWED_HOSTS": "localhost,127.0.0.1"})
    try:
        status, headers, body = server.request("HEAD", "/no/such/path", host="localhost",
                                               headers={"Accept": "text/html"})
        assert status == 404 and body == b""
        assert not headers["Content-Type"].startswith("text/html")
        status, _, body = server.request("GET", "/files/io.cozy.files.root-dir", host="attacker-text.example")
        assert status == 400
    finally:
        stop(server)
    log = log_path.read_text(errors="replace")
    assert "attacker-text" not in log and "Traceback" not in log
    assert log.count("Host header not in ALLOWED_HOSTS") == 1
    assert "body" not in log.lower()  # gunicorn's warning about a body sent on a HEAD response
