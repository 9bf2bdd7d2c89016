"""Request edges every route shares: undecodable query strings, bad Host headers, HEAD, unknown paths."""

from __future__ import annotations

import json
import logging
import socket

import pytest
from django.test import Client

from cozy.files.models import Node
from cozy.instances.services import org_bucket
from tests.cozyclient import ROOT, TRASH, Cozy, content_key, doc_id, make_instance
from tests.httpserver import start_gunicorn, stop
from tests.test_files_api import assert_error
from vfs_s3.storage import S3Storage

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
        assert headers["Content-Type"].startswith("text/html")  # as its GET: a browser's page
        status, _, body = server.request("GET", "/files/io.cozy.files.root-dir", host="attacker-text.example")
        assert status == 400
    finally:
        stop(server)
    log = log_path.read_text(errors="replace")
    assert "attacker-text" not in log and "Traceback" not in log
    assert log.count("Host header not in ALLOWED_HOSTS") == 1
    assert "body" not in log.lower()  # gunicorn's warning about a body sent on a HEAD response


def _snapshot(instance) -> list[tuple]:
    return sorted(Node.objects.filter(instance=instance).values_list("doc_id", "name", "tags", "cozy_metadata"))


NUL_REQUESTS = {  # (method, path, query, JSON body) with a NUL somewhere the API takes text
    "query Name": ("post", f"/files/{ROOT}", "Type=directory&Name=a%00b", None),
    "query Tags": ("post", f"/files/{ROOT}", "Type=directory&Name=ok&Tags=x%00", None),
    "path id": ("get", "/files/a%00b", "", None),
    "name": ("patch", "/files/{id}", "", {"name": "a\x00b"}),
    "tag": ("patch", "/files/{id}", "", {"tags": ["t\x00"]}),
    "metadata": ("patch", "/files/{id}", "", {"cozyMetadata": {"note": "n\x00"}}),
    "metadata key": ("patch", "/files/{id}", "", {"cozyMetadata": {"k\x00": "v"}}),
    "Mango value": ("post", "/files/_find", "", {"selector": {"name": "a\x00"}}),
    "Mango key": ("post", "/files/_find", "", {"selector": {"metadata.k\x00": "v"}}),
}


@pytest.mark.parametrize("where", NUL_REQUESTS)
def test_a_nul_in_any_text_is_a_400_and_stores_nothing(cozy, where):
    file_id = doc_id(cozy.upload("f.txt", b"x"))
    before = _snapshot(cozy.instance)
    method, path, query, attrs = NUL_REQUESTS[where]
    path = path.format(id=file_id) + (f"?{query}" if query else "")
    if path.startswith("/files/_find"):
        body = attrs
    elif attrs is not None:
        body = {"data": {"type": "io.cozy.files", "id": file_id, "attributes": attrs}}
    kwargs = {"data": json.dumps(body), "content_type": "application/json"} if attrs is not None else {}
    resp = getattr(cozy.client, method)(path, **kwargs, **cozy._h())
    assert "NUL" in assert_error(resp, 400, cozy)["errors"][0]["detail"]
    assert resp["Content-Type"] == "application/vnd.api+json"
    assert _snapshot(cozy.instance) == before


def test_text_without_nul_still_passes(cozy):
    file_id = doc_id(cozy.upload("f.txt", b"x"))
    resp = cozy.patch(file_id, name="a-b", tags=["t"], cozyMetadata={"note": "n"})
    assert resp.status_code == 200, resp.content
    node = Node.objects.get(instance=cozy.instance, doc_id=file_id)
    assert (node.name, node.tags, node.cozy_metadata["note"]) == ("a-b", ["t"], "n")


def _raw_head(port: int, path: str, host: str, headers: dict) -> tuple[int, dict, bytes]:
    """HEAD over a bare socket, read to the close: http.client never reads a body after HEAD."""
    lines = [f"HEAD {path} HTTP/1.1", f"Host: {host}", "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    return int(status_line.split()[1]), dict(h.split(": ", 1) for h in header_lines), rest


HEAD_COMPARED = ("Content-Type", "Content-Length", "ETag", "Accept-Ranges", "Content-Range", "Content-Disposition")


def test_under_gunicorn_every_get_route_answers_head_as_get_without_a_body(transactional_db, shared_fs_url, settings,
                                                                            tmp_path):
    settings.COZY_FS_URL = shared_fs_url
    _, token = make_instance("headers.localhost", "ada")
    auth = {"Authorization": f"Bearer {token}"}
    log_path = tmp_path / "gunicorn.log"
    server = start_gunicorn(shared_fs_url, log_path)
    try:
        data = b"0123456789" * 1000
        status, _, body = server.request("POST", f"/files/{ROOT}?Type=file&Name=h.txt", host="headers.localhost",
                                         body=data, headers={**auth, "Content-Type": "text/plain"})
        assert status == 201
        file_id = json.loads(body)["data"]["id"]
        cases = [(f"/files/download/{file_id}", {}, 200), (f"/files/download/{file_id}", {"Range": "bytes=10-19"}, 206),
                 (f"/files/{file_id}", {}, 200), ("/settings/disk-usage", {}, 200), ("/files/no-such-id", {}, 404),
                 ("/files/download/no-such-id", {}, 404), ("/no/such/path", {"Accept": "text/html"}, 404)]
        for path, extra, expected in cases:
            got, got_headers, got_body = server.request("GET", path, host="headers.localhost",
                                                        headers={**auth, **extra})
            assert got == expected, (path, got)
            status, headers, rest = _raw_head(server.port, path, "headers.localhost", {**auth, **extra})
            assert (status, rest) == (expected, b""), (path, status, rest[:100])
            assert {h: headers.get(h) for h in HEAD_COMPARED} == {h: got_headers.get(h) for h in HEAD_COMPARED}, path
            assert headers.get("Content-Length", str(len(got_body))) == str(len(got_body)), path
        assert headers["Content-Type"].startswith("text/html")  # a browser's 404 page, as its GET
        status, headers, _ = _raw_head(server.port, f"/files/download/{file_id}", "headers.localhost", auth)
        assert headers["Content-Length"] == str(len(data)) and headers["Content-Type"] == "text/plain"
        assert headers["ETag"] and headers["Accept-Ranges"] == "bytes"
    finally:
        stop(server)
    log = log_path.read_text(errors="replace")
    assert "body" not in log.lower() and "Traceback" not in log  # gunicorn's warning about a body on HEAD


def test_head_on_a_download_does_not_read_the_store(cozy, monkeypatch):
    file_id = doc_id(cozy.upload("f.txt", b"bytes"))
    monkeypatch.setattr(S3Storage, "read", lambda *a, **k: pytest.fail("HEAD read the object"))
    resp = cozy.client.head(f"/files/download/{file_id}", **cozy._h())
    assert resp.status_code == 200 and resp["Content-Length"] == "5" and resp["ETag"]
    assert b"".join(resp.streaming_content) == b""


def test_head_on_a_download_whose_object_is_missing_is_a_404(cozy, s3_client):
    file_id = doc_id(cozy.upload("f.txt", b"bytes"))
    node = Node.objects.get(instance=cozy.instance, doc_id=file_id)
    s3_client.remove_object(org_bucket(cozy.instance), content_key(cozy.instance, file_id, node.content_id))
    resp = cozy.client.head(f"/files/download/{file_id}", **cozy._h())
    assert resp.status_code == 404 and resp.content == b""


def test_a_head_on_a_post_only_path_is_a_405_and_allow_names_head_with_get(cozy):
    resp = cozy.client.head("/files/_find", **cozy._h())
    assert resp.status_code == 405 and resp["Allow"] == "POST"
    resp = cozy.client.put("/files/archive", **cozy._h())
    assert resp.status_code == 405 and "HEAD" not in resp["Allow"]
    resp = cozy.client.post(f"/files/download/{ROOT}", **cozy._h())
    assert resp.status_code == 405 and resp["Allow"] == "GET, HEAD"
