"""POST /files/archive: a zip of files and folders, streamed from S3 while it is made."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile

import psutil
import pytest
from django.test import Client

from cozy.files import archive
from tests.cozyclient import ROOT, Cozy, doc_id, make_instance
from tests.httpserver import start_gunicorn, stop
from tests.test_files_api import assert_error

pytestmark = pytest.mark.django_db(transaction=True)
MiB = 1024 * 1024


@pytest.fixture
def cozy(fs_url, s3_client) -> Cozy:
    instance, token = make_instance("zip.localhost", "zoe")
    return Cozy(instance, token, Client())


def post_archive(cozy: Cozy, accept: str = "application/zip", **attrs):
    body = {"data": {"type": "io.cozy.files.archives", "attributes": attrs}}
    return cozy.client.post("/files/archive", data=json.dumps(body), content_type="application/vnd.api+json",
                            **cozy._h(HTTP_ACCEPT=accept))


def tree(cozy: Cozy) -> dict[str, str]:
    docs = doc_id(cozy.mkdir("docs"))
    sub = doc_id(cozy.mkdir("2024", docs))
    cozy.mkdir("empty", docs)
    ids = {"docs": docs, "sub": sub}
    ids["a"] = doc_id(cozy.upload("a.txt", b"alpha" * 1000, docs))
    ids["b"] = doc_id(cozy.upload("b.bin", os.urandom(300_000), sub))
    ids["top"] = doc_id(cozy.upload("top.txt", b"top level", ROOT))
    ids["zero"] = doc_id(cozy.upload("zero.txt", b"", ROOT))
    return ids


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None  # every CRC matches
        return {info.filename: zf.read(info) for info in zf.infolist()}


def test_a_folder_and_files_as_one_streamed_zip(cozy):
    ids = tree(cozy)
    resp = post_archive(cozy, name="my stuff", ids=[ids["docs"], ids["top"], ids["zero"]])
    assert resp.status_code == 200 and resp["Content-Type"] == "application/zip"
    assert resp.streaming
    assert 'filename="my stuff.zip"' in resp["Content-Disposition"]
    body = b"".join(resp.streaming_content)
    assert int(resp["Content-Length"]) == len(body)
    files = unzip(body)
    assert sorted(files) == ["docs/", "docs/2024/", "docs/2024/b.bin", "docs/a.txt", "docs/empty/", "top.txt",
                             "zero.txt"]
    assert files["docs/a.txt"] == b"alpha" * 1000 and files["top.txt"] == b"top level"
    assert files["docs/2024/b.bin"] == cozy.download(ids["b"])
    assert files["zero.txt"] == b""


def test_by_path_as_cozy_stack_allows(cozy):
    tree(cozy)
    resp = post_archive(cozy, name="paths", files=["/docs/2024", "/top.txt"])
    assert sorted(unzip(b"".join(resp.streaming_content))) == ["2024/", "2024/b.bin", "top.txt"]


def test_without_accept_zip_a_link_that_downloads_without_credentials_on_its_instance_only(cozy, monkeypatch):
    ids = tree(cozy)
    resp = post_archive(cozy, accept="application/vnd.api+json", name="linked", ids=[ids["a"]])
    assert resp.status_code == 200 and resp["Content-Type"] == "application/vnd.api+json"
    link = resp.json()["links"]["related"]
    assert link.startswith("/files/archive/") and link.endswith("/linked.zip")
    got = Client().get(link, HTTP_HOST=cozy.host)  # a browser following the link: no token
    assert got.status_code == 200
    assert unzip(b"".join(got.streaming_content)) == {"a.txt": b"alpha" * 1000}
    make_instance("other-zip.localhost", "otto")
    assert_error(Client().get(link, HTTP_HOST="other-zip.localhost"), 404)
    tampered = link.replace("/files/archive/", "/files/archive/x")
    assert_error(Client().get(tampered, HTTP_HOST=cozy.host), 404)
    monkeypatch.setattr(archive, "LINK_SECONDS", -1)
    assert "expired" in assert_error(Client().get(link, HTTP_HOST=cozy.host), 410)["errors"][0]["detail"]


def test_bad_requests(cozy):
    ids = tree(cozy)
    assert_error(post_archive(cozy, name="x"), 400, cozy)
    assert_error(post_archive(cozy, name="x", ids=["nope"]), 404, cozy)
    assert_error(post_archive(cozy, name="x", files=["/docs/none.txt"]), 404, cozy)
    assert_error(post_archive(cozy, name="a/b", ids=[ids["a"]]), 400, cozy)
    assert_error(post_archive(cozy, name="x", ids=[ROOT]), 404, cozy)
    cozy.delete(f"/files/{ids['a']}")  # in the trash: not archived
    assert_error(post_archive(cozy, name="x", ids=[ids["a"]]), 404, cozy)
    resp = cozy.client.post("/files/archive", data="{}", content_type="application/json", **cozy._h())
    assert_error(resp, 400, cozy)
    assert_error(Client().post("/files/archive", data="{}", content_type="application/json",
                               HTTP_HOST=cozy.host), 401)


def test_memory_stays_flat_under_gunicorn(cozy, shared_fs_url, tmp_path, settings):
    """A 192 MiB archive through a real worker: its memory grows by far less than the archive."""
    settings.COZY_FS_URL = shared_fs_url
    chunk = os.urandom(MiB)
    ids = [doc_id(cozy.upload(f"part{i}.bin", chunk * 64)) for i in range(3)]
    server = start_gunicorn(shared_fs_url, tmp_path / "gunicorn.log")
    try:
        worker = psutil.Process(server.proc.pid).children()[0]
        body = json.dumps({"data": {"attributes": {"name": "big", "ids": ids}}})
        conn = __import__("http.client").client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        conn.request("POST", "/files/archive", body=body, headers={
            "Host": cozy.host, "Authorization": f"Bearer {cozy.token}", "Accept": "application/zip",
            "Content-Type": "application/vnd.api+json"})
        resp = conn.getresponse()
        assert resp.status == 200
        base = worker.memory_info().rss
        peak, total, digest = base, 0, hashlib.sha256()
        while block := resp.read(MiB):
            total += len(block)
            digest.update(block)
            peak = max(peak, worker.memory_info().rss)
        conn.close()
    finally:
        stop(server)
    assert total == int(resp.getheader("Content-Length")) and total > 192 * MiB
    assert peak - base < 48 * MiB, f"the worker grew by {(peak - base) / MiB:.0f} MiB"
    print(f"archive of {total / MiB:.0f} MiB: worker RSS grew by {(peak - base) / MiB:.1f} MiB")
