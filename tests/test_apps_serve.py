"""Serving a web app at <slug>.<instance domain> from its release on the real SeaweedFS."""

from __future__ import annotations

import hashlib
import json
import re

import brotli
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cozy.apps import installs
from cozy.apps.encoding import accepts_br
from cozy.apps.models import Kind
from cozy.storage.buckets import ensure_system_buckets
from tests.apptars import make_tar, manifest
from tests.cozyclient import make_instance

pytestmark = pytest.mark.django_db(transaction=True)
JS = b"function f(){return 1}\n" * 2000
BIG = bytes(range(256)) * 40_000  # ~10 MiB: streamed at install, decompressed on the fly here
INDEX = (b'<html data-cozy="{{.CozyData}}"><b>{{.Domain}}</b><i>{{ .AppName }}</i>'
         b'<s>{{.Token}}</s><u>{{.Locale}}</u>{{.Unknown}}</html>')


@pytest.fixture
def app(fs_url, tmp_path):
    ensure_system_buckets()
    instance, _ = make_instance("web.localhost", "wendy")
    routes = {"/": {"folder": "/", "index": "index.html", "public": False},
              "/public": {"folder": "/pub", "index": "index.html", "public": True}}
    files = {"manifest.webapp": manifest("drive", "1.0.0", name="Drive <&>", routes=routes), "index.html": INDEX,
             "app.js": JS, "big.bin": BIG, "main.0123456789ab.css": b"body{}" * 300, "logo.png": b"\x89PNG" * 300,
             "pub/index.html": b"<p>{{.Domain}} {{.Token}}</p>", "pub/a..b.txt": b"dots"}
    installs.install(instance, Kind.WEB, "drive", f"file://{make_tar(tmp_path / 'd.tar.gz', files)}")
    client = Client()
    client.force_login(instance.owner)
    return instance, client


def get(client: Client, path: str, **headers):
    headers.setdefault("HTTP_HOST", "drive.web.localhost")
    resp = client.get(path, **headers)
    body = b"".join(resp.streaming_content) if resp.streaming else resp.content
    return resp, body


def test_brotli_passes_through_or_is_decompressed(app):
    _, client = app
    resp, body = get(client, "/app.js", HTTP_ACCEPT_ENCODING="gzip, br")
    assert resp.status_code == 200 and resp["Content-Encoding"] == "br"
    assert int(resp["Content-Length"]) == len(body) < len(JS) and brotli.decompress(body) == JS
    assert "Accept-Encoding" in resp["Vary"] and resp["ETag"] == f'"{hashlib.md5(JS).hexdigest()}-br"'
    assert resp["Content-Type"].startswith("text/javascript")
    for accept in ("gzip, br;q=0", "", "identity", "gzip;q=1, *;q=0"):
        resp, body = get(client, "/app.js", HTTP_ACCEPT_ENCODING=accept)
        assert "Content-Encoding" not in resp and body == JS and resp["Content-Length"] == str(len(JS))
        assert resp["ETag"] == f'"{hashlib.md5(JS).hexdigest()}"' and "Accept-Encoding" in resp["Vary"]
    resp, body = get(client, "/big.bin")
    assert body == BIG and resp["Content-Length"] == str(len(BIG))


def test_etag_304_range_and_cache(app):
    _, client = app
    resp, _ = get(client, "/app.js")
    assert get(client, "/app.js", HTTP_IF_NONE_MATCH=resp["ETag"])[0].status_code == 304
    resp, body = get(client, "/app.js", HTTP_RANGE="bytes=10-29")
    assert resp.status_code == 206 and body == JS[10:30] and resp["Content-Range"] == f"bytes 10-29/{len(JS)}"
    resp, body = get(client, "/big.bin", HTTP_RANGE="bytes=-100")
    assert resp.status_code == 206 and body == BIG[-100:]
    resp, body = get(client, "/logo.png", HTTP_RANGE="bytes=4-7", HTTP_ACCEPT_ENCODING="br")
    assert resp.status_code == 206 and body == b"\x89PNG" and "Content-Encoding" not in resp
    assert get(client, "/logo.png", HTTP_RANGE="bytes=5000-")[0].status_code == 416
    assert get(client, "/main.0123456789ab.css")[0]["Cache-Control"] == "public, max-age=31536000, immutable"
    assert get(client, "/app.js")[0]["Cache-Control"] == "no-cache"
    assert get(client, "/nope.js")[0].status_code == 404


def test_index_rendered_escaped_and_no_store(app):
    _, client = app
    resp, body = get(client, "/")
    assert resp.status_code == 200 and resp["Cache-Control"] == "no-store"
    text = body.decode()
    assert "<b>web.localhost</b><i>Drive &lt;&amp;&gt;</i>" in text and "{{" not in text
    token = re.search(r"<s>([^<]+)</s>", text)[1]
    data = json.loads(re.search(r'data-cozy="([^"]+)"', text)[1].replace("&quot;", '"').replace("&amp;", "&")
                      .replace("&lt;", "<").replace("&gt;", ">"))
    assert data["domain"] == "web.localhost" and data["token"] == token and data["app"]["slug"] == "drive"
    api = client.get("/apps/drive", HTTP_HOST="web.localhost", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.status_code == 200
    assert get(client, "/index.html")[0]["Cache-Control"] == "no-store"


def test_private_routes_need_the_owner_and_public_ones_do_not(app):
    anonymous = Client()
    resp, _ = get(anonymous, "/app.js")
    assert resp.status_code == 302 and resp["Location"].startswith("http://web.localhost/auth/login?next=")
    resp, body = get(anonymous, "/public/")
    assert resp.status_code == 200 and body == b"<p>web.localhost </p>"
    assert get(anonymous, "/public/a..b.txt")[1] == b"dots"
    assert get(anonymous, "/app.js", HTTP_HOST="photos.web.localhost")[0].status_code == 404


def test_update_switches_what_is_served(app, tmp_path):
    instance, client = app
    v2 = make_tar(tmp_path / "v2.tar.gz", {"manifest.webapp": manifest("drive", "2.0.0"), "app.js": b"v2"})
    installs.update(instance, Kind.WEB, "drive", f"file://{v2}")
    assert get(client, "/app.js")[1] == b"v2"
    installs.uninstall(instance, Kind.WEB, "drive")
    assert get(client, "/app.js")[0].status_code == 404


@pytest.mark.parametrize("header, want", [
    ("br", True), ("gzip, br", True), ("br;q=0", False), ("BR; q=0.5", True), ("br;q=0.000", False),
    ("*", True), ("*;q=0", False), ("gzip", False), ("", False), (None, False), ("br;q=x", False),
    ("*, br;q=0", False),
])  # fmt: skip
def test_accept_encoding(header, want):
    assert accepts_br(header) is want


def test_an_update_under_load_never_serves_a_mix(app, tmp_path):
    import threading

    from django.db import connection

    instance, _ = app
    bodies = {v: (v.encode() * 5000) for v in ("1.1.0", "1.2.0")}
    sources = {v: f"file://{make_tar(tmp_path / f'{v}.tar.gz', {'manifest.webapp': manifest('drive', v), 'app.js': b})}"
               for v, b in bodies.items()}  # fmt: skip
    installs.update(instance, Kind.WEB, "drive", sources["1.1.0"])
    seen, stop = [], threading.Event()

    def reader():
        client = Client()
        client.force_login(instance.owner)
        try:
            while not stop.is_set():
                resp, body = get(client, "/app.js", HTTP_ACCEPT_ENCODING="br" if len(seen) % 2 else "")
                seen.append((resp.status_code, brotli.decompress(body) if resp.get("Content-Encoding") else body))
        finally:
            connection.close()

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for i in range(6):
            installs.update(instance, Kind.WEB, "drive", sources["1.2.0" if i % 2 == 0 else "1.1.0"])
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert len(seen) > 10
    assert {status for status, _ in seen} == {200}
    assert {body for _, body in seen} == set(bodies.values())  # both served, nothing else


def test_flat_app_hosts(app):
    _, client = app
    resp, body = get(client, "/app.js", HTTP_HOST="web-drive.localhost")
    assert resp.status_code == 200 and body == JS
    assert get(client, "/app.js", HTTP_HOST="web-photos.localhost")[0].status_code == 404
    assert get(client, "/app.js", HTTP_HOST="nobody-drive.localhost")[0].status_code == 404


def test_one_query_per_file_and_changes_seen_at_once(app, tmp_path):
    """The host, the instance and the app's release come in one query; an update or an
    uninstall is seen by the next request (no per-process staleness)."""
    instance, _ = app
    anonymous = Client()  # a public route: no session to read
    get(anonymous, "/public/a..b.txt")  # warm the process caches of the release and its file
    with CaptureQueriesContext(connection) as queries:
        resp, body = get(anonymous, "/public/a..b.txt")
    assert resp.status_code == 200 and body == b"dots" and len(queries) == 1, [q["sql"] for q in queries]
    files = {"manifest.webapp": manifest("drive", "2.0.0", routes={"/public": {"folder": "/pub", "public": True}}),
             "pub/a..b.txt": b"dots, version 2"}
    installs.update(instance, Kind.WEB, "drive", f"file://{make_tar(tmp_path / 'v2.tar.gz', files)}")
    assert get(anonymous, "/public/a..b.txt")[1] == b"dots, version 2"
    installs.uninstall(instance, Kind.WEB, "drive")
    assert get(anonymous, "/public/a..b.txt")[0].status_code == 404
