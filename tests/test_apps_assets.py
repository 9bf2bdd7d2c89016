"""Dynamic assets on the real SeaweedFS: sums required, served to their context, changes seen at once."""

from __future__ import annotations

import hashlib
import json
import os
import time
from io import StringIO
from pathlib import Path

import brotli
import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from cozy.apps import assets
from cozy.apps.models import Asset
from cozy.instances.models import Instance
from cozy.storage.buckets import ensure_system_buckets
from tests.cozyclient import make_instance

pytestmark = pytest.mark.django_db(transaction=True)
CSS = b"body { color: #123456; }\n" * 500


def src(path: Path, data: bytes | None = None) -> str:
    if data is not None:
        path.write_bytes(data)
    return f"file://{path}#sha256={hashlib.sha256(path.read_bytes()).hexdigest()}"


def run(*args) -> str:
    out = StringIO()
    call_command("assets", *args, stdout=out)
    return out.getvalue()


def keys() -> list[str]:
    return sorted(o.name for o in assets.store().list())


@pytest.fixture
def ctx(fs_url):
    ensure_system_buckets()
    mine, _ = make_instance("themed.localhost", "tess")
    Instance.objects.filter(pk=mine.pk).update(context="blue")
    make_instance("plain.localhost", "paul")


def test_sum_is_required_and_checked(ctx, tmp_path):
    (tmp_path / "a.css").write_bytes(CSS)
    with pytest.raises(CommandError, match="needs its sum"):
        run("add", "blue", "theme.css", f"file://{tmp_path / 'a.css'}")
    with pytest.raises(CommandError, match="is a file:// or http"):
        run("add", "blue", "theme.css", "registry://drive/stable")
    with pytest.raises(CommandError, match="does not match"):
        run("add", "blue", "theme.css", f"file://{tmp_path / 'a.css'}#sha256={'1' * 64}")
    with pytest.raises(CommandError, match=r"'\.\.'"):
        run("add", "blue", "../x.css", src(tmp_path / "a.css"))
    assert keys() == [] and Asset.objects.count() == 0


def test_served_to_its_context_brotli_or_identity_and_replaced_at_once(ctx, tmp_path):
    assert run("add", "blue", "theme.css", src(tmp_path / "a.css", CSS)).startswith("added blue/theme.css")
    row = Asset.objects.get()
    assert keys() == [row.key, f"{row.key}.br"]
    client = Client()
    resp = client.get("/assets/theme.css", HTTP_HOST="themed.localhost", HTTP_ACCEPT_ENCODING="br")
    body = b"".join(resp.streaming_content)
    assert resp["Content-Encoding"] == "br" and int(resp["Content-Length"]) == len(body) < len(CSS)
    assert brotli.decompress(body) == CSS and "Accept-Encoding" in resp["Vary"]
    resp = client.get("/assets/theme.css", HTTP_HOST="themed.localhost", HTTP_ACCEPT_ENCODING="gzip, br;q=0")
    assert b"".join(resp.streaming_content) == CSS and resp["Content-Length"] == str(len(CSS))
    assert client.get("/assets/theme.css", HTTP_HOST="themed.localhost",
                      HTTP_IF_NONE_MATCH=resp["ETag"]).status_code == 304
    assert client.get("/assets/theme.css", HTTP_HOST="plain.localhost").status_code == 404
    run("add", "blue", "theme.css", src(tmp_path / "b.css", b"body{}"))
    resp = client.get("/assets/theme.css", HTTP_HOST="themed.localhost")
    assert b"".join(resp.streaming_content) == b"body{}"
    assert keys() == [Asset.objects.get().key]  # the old objects went after the commit; too small to brotli
    assert [json.loads(line)["name"] for line in run("list").splitlines()] == ["theme.css"]
    run("remove", "blue", "theme.css")
    assert client.get("/assets/theme.css", HTTP_HOST="themed.localhost").status_code == 404 and keys() == []
    with pytest.raises(CommandError, match="no asset"):
        run("remove", "blue", "theme.css")


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def _worker_pid(master: int) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise AssertionError("no gunicorn worker")


@pytest.mark.slow
def test_a_200_mib_asset_is_served_whole_with_flat_memory_by_another_process(http_server, tmp_path):
    import http.client

    ensure_system_buckets()
    instance, _ = make_instance("big.localhost", "bill")
    Instance.objects.filter(pk=instance.pk).update(context="big")
    big = tmp_path / "movie.mp4"
    with big.open("wb") as out:
        for _ in range(200):
            out.write(os.urandom(1024 * 1024))
    run("add", "big", "movie.mp4", src(big))
    worker = _worker_pid(http_server.proc.pid)
    status, _, _ = http_server.request("GET", "/assets/nothing.css", host="big.localhost")
    assert status == 404
    before = _peak_rss(worker)
    conn = http.client.HTTPConnection("127.0.0.1", http_server.port, timeout=120)
    conn.request("GET", "/assets/movie.mp4", headers={"Host": "big.localhost", "Accept-Encoding": "br"})
    resp = conn.getresponse()
    digest, total = hashlib.sha256(), 0
    while chunk := resp.read(1024 * 1024):
        digest.update(chunk)
        total += len(chunk)
    conn.close()
    assert resp.status == 200 and total == 200 * 1024 * 1024 and resp.getheader("Content-Encoding") is None
    assert digest.hexdigest() == Asset.objects.get().sha256
    assert _peak_rss(worker) - before < 48 * 1024 * 1024
    run("add", "big", "movie.mp4", src(tmp_path / "small.mp4", b"replaced"))  # seen at once by the server
    assert http_server.request("GET", "/assets/movie.mp4", host="big.localhost")[2] == b"replaced"


def test_apps_fsck_knows_the_assets_area(ctx, tmp_path):
    from cozy.fsck.runner import check_system

    run("add", "blue", "theme.css", src(tmp_path / "a.css", CSS))
    row = Asset.objects.get()
    assets.store().put("blue/stray/x", b"stray")
    assets.store().delete(row.br_key)
    found = sorted((a.area, a.type, a.object) for a in check_system().anomalies)
    assert found == [("assets", "filesystem_missing", row.br_key), ("assets", "index_missing", "blue/stray/x")]
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("apps", "fsck", "--fix", "--grace", "0", stdout=out)
    assert '"fix": "removed"' in out.getvalue() and "blue/stray/x" not in keys()


def test_admin_routes_for_staff_only(ctx, tmp_path):
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    client = Client()
    source = src(tmp_path / "a.css", CSS)
    assert client.get("/admin-api/assets/", HTTP_HOST="themed.localhost").status_code == 401
    client.force_login(users.get(username="tess"))
    assert client.get("/admin-api/assets/", HTTP_HOST="themed.localhost").status_code == 403
    admin = users.create(username="root", is_staff=True)
    client.force_login(admin)
    resp = client.post(f"/admin-api/assets/blue/css/theme.css?Source={source.replace('#', '%23')}",
                       HTTP_HOST="themed.localhost")
    assert resp.status_code == 201 and resp.json()["data"]["size"] == len(CSS)
    bad = client.post(f"/admin-api/assets/blue/x.css?Source=file://{tmp_path / 'a.css'}", HTTP_HOST="localhost")
    assert bad.status_code == 400 and "sum" in bad.json()["errors"][0]["detail"]
    listed = client.get("/admin-api/assets/?context=blue", HTTP_HOST="localhost").json()["data"]
    assert [a["name"] for a in listed] == ["css/theme.css"]
    assert client.get("/assets/css/theme.css", HTTP_HOST="themed.localhost").status_code == 200
    assert client.delete("/admin-api/assets/blue/css/theme.css", HTTP_HOST="localhost").status_code == 204
    assert client.delete("/admin-api/assets/blue/css/theme.css", HTTP_HOST="localhost").status_code == 404
    assert keys() == []
