"""The avatar routes against a real SeaweedFS and database."""

from __future__ import annotations

import io
import socket
import time

import pytest
from django.test import Client
from PIL import Image

from cozy.avatars.fallback import anonymous_png, anonymous_svg, initials_png, initials_svg
from cozy.avatars.models import Avatar
from cozy.instances.services import org_bucket
from tests.cozyclient import Cozy, make_instance
from tests.images import BLUE, RED, close, encoded, jpeg_with_orientation, marked

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cozy(fs_url, s3_client) -> Cozy:
    instance, token = make_instance("alice.localhost", "alice", org="acme")
    instance.owner.first_name, instance.owner.last_name = "Alice", "Liddell"
    instance.owner.save()
    return Cozy(instance, token, Client())


def put_avatar(cozy: Cozy, data: bytes, content_type: str = "image/png", **extra):
    return cozy.client.put("/settings/avatar", data=data, content_type=content_type, **cozy._h(**extra))


def public(cozy: Cozy, query: str = "", **headers):
    return cozy.client.get(f"/public/avatar{query}", HTTP_HOST=cozy.host, **headers)  # no login


def stored_keys(cozy: Cozy, s3_client) -> list[str]:
    listed = s3_client.list_objects(org_bucket(cozy.instance), prefix=cozy.instance.key_prefix, recursive=True)
    return [o.object_name[len(cozy.instance.key_prefix):] for o in listed]


def secured(resp) -> None:
    assert resp["X-Content-Type-Options"] == "nosniff"
    assert resp["Content-Security-Policy"] == "default-src 'none'"


def test_round_trip_etag_and_304(cozy, s3_client):
    assert put_avatar(cozy, encoded(marked(300, 200, 30), "PNG")).status_code == 204
    assert stored_keys(cozy, s3_client) == ["avatar"]
    got = public(cozy)
    assert got.status_code == 200 and got["Content-Type"] == "image/png"
    secured(got)
    image = Image.open(io.BytesIO(got.content))
    assert image.size == (300, 200) and close(image.convert("RGB").getpixel((3, 3)), RED)
    row = Avatar.objects.get(instance=cozy.instance)
    assert got["ETag"] == row.etag and row.size == len(got.content)
    again = public(cozy, HTTP_IF_NONE_MATCH=got["ETag"])
    assert again.status_code == 304 and again.content == b""

    # A new upload changes the ETag; a phone photo is turned upright and loses its EXIF.
    assert put_avatar(cozy, jpeg_with_orientation(1200, 800, 6, corner=100), "image/jpeg").status_code == 204
    new = public(cozy, HTTP_IF_NONE_MATCH=got["ETag"])
    assert new.status_code == 200 and new["ETag"] != got["ETag"] and new["Content-Type"] == "image/jpeg"
    image = Image.open(io.BytesIO(new.content))
    assert image.size == (683, 1024) and not image.getexif()
    assert close(image.getpixel((image.width - 3, 3)), RED)


@pytest.mark.parametrize(
    ("body", "ctype"),
    [(b"<html><script>alert(document.cookie)</script></html>", "text/html"),
     (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml"),
     (b"<html>pretending</html>", "image/png")],
)  # fmt: skip
def test_html_and_svg_are_refused_and_the_old_avatar_stays(cozy, body, ctype):
    assert put_avatar(cozy, encoded(Image.new("RGB", (50, 50), BLUE), "PNG")).status_code == 204
    before = public(cozy)
    resp = put_avatar(cozy, body, ctype)
    assert resp.status_code == 415 and resp.json()["errors"][0]["status"] == "415"
    secured(resp)
    assert public(cozy).content == before.content


def test_too_large_and_cut_uploads_keep_the_old_avatar(cozy, settings):
    assert put_avatar(cozy, encoded(Image.new("RGB", (50, 50), BLUE), "PNG")).status_code == 204
    before = public(cozy).content
    settings.COZY_AVATAR_MAX_BYTES = 10_000
    big = encoded(Image.effect_noise((200, 200), 60), "PNG")
    assert len(big) > 10_000
    assert put_avatar(cozy, big).status_code == 413
    corrupt = encoded(marked(400, 400, 10), "PNG")
    assert put_avatar(cozy, corrupt[: len(corrupt) // 2]).status_code == 422
    assert public(cozy).content == before


def test_only_the_owner_may_change_it(cozy):
    assert cozy.client.put("/settings/avatar", data=b"x", content_type="image/png",
                           HTTP_HOST=cozy.host).status_code == 401  # fmt: skip
    _, token = make_instance("bob.localhost", "bob")
    other = cozy.client.put("/settings/avatar", data=b"x", content_type="image/png", HTTP_HOST=cozy.host,
                            HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    assert other.status_code == 403
    assert cozy.client.post("/settings/avatar", **cozy._h()).status_code == 405


def test_fallbacks(cozy):
    assert public(cozy).content == initials_png("Alice Liddell")  # the default: initials as PNG
    resp = public(cozy, "?fallback=initials&format=svg")
    assert resp["Content-Type"] == "image/svg+xml" and resp.content == initials_svg("Alice Liddell")
    secured(resp)
    assert public(cozy, "?fallback=anonymous").content == anonymous_png()
    assert public(cozy, "?fallback=anonymous&format=svg").content == anonymous_svg()
    missing = public(cozy, "?fallback=404")
    assert missing.status_code == 404 and missing.json()["errors"][0]["status"] == "404"
    for query in ("?fallback=default", "?format=gif", "?fallback=", "?fallback=initials&format=jpeg"):
        assert public(cozy, query).status_code == 400, query
    assert cozy.client.get("/public/avatar", HTTP_HOST="nobody.localhost").status_code == 404


def test_delete(cozy, s3_client):
    assert put_avatar(cozy, encoded(Image.new("RGB", (50, 50), BLUE), "PNG")).status_code == 204
    resp = cozy.client.delete("/settings/avatar", **cozy._h())
    assert resp.status_code == 204
    assert not Avatar.objects.filter(instance=cozy.instance).exists()
    assert stored_keys(cozy, s3_client) == []
    assert public(cozy).content == initials_png("Alice Liddell")
    assert cozy.client.delete("/settings/avatar", **cozy._h()).status_code == 204  # already none: fine


def test_chunked_and_cut_bodies_under_gunicorn(shared_fs_url, settings, tmp_path):
    """A real server: a chunked body past the cap gets 413; a client gone mid-body changes nothing."""
    from tests.httpserver import start_gunicorn, stop

    settings.COZY_FS_URL = shared_fs_url
    instance, token = make_instance("dora.localhost", "dora")
    from cozy.storage.buckets import ensure_org_bucket

    ensure_org_bucket(instance.org_id)
    server = start_gunicorn(shared_fs_url, tmp_path / "gunicorn.log", extra_env={"COZY_AVATAR_MAX_BYTES": "50000"})
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "image/png"}
    try:
        first = encoded(Image.new("RGB", (40, 40), BLUE), "PNG")
        assert server.request("PUT", "/settings/avatar", host=instance.domain, body=first, headers=auth)[0] == 204
        _, _, before = server.request("GET", "/public/avatar", host=instance.domain)

        big = encoded(Image.effect_noise((300, 300), 60), "PNG")
        assert len(big) > 50_000
        chunks = (big[i : i + 8192] for i in range(0, len(big), 8192))
        status, _, body = server.request("PUT", "/settings/avatar", host=instance.domain, body=chunks,
                                         headers={**auth, "Transfer-Encoding": "chunked"})  # fmt: skip
        assert status == 413, body[:300]

        # Headers announce 40,000 bytes; 10,000 arrive, then the connection closes.
        whole = encoded(marked(120, 120, 10), "PNG") + b"\0" * 40_000
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            head = (f"PUT /settings/avatar HTTP/1.1\r\nHost: {instance.domain}\r\nAuthorization: Bearer {token}\r\n"
                    "Content-Type: image/png\r\nContent-Length: 40000\r\n\r\n")  # fmt: skip
            sock.sendall(head.encode() + whole[:10_000])
        deadline = time.monotonic() + 20  # Django logs the 400 once the handler is done with the body
        while b"Bad Request: /settings/avatar" not in server.log_path.read_bytes():
            assert time.monotonic() < deadline, server.log_path.read_text()[-2000:]
            time.sleep(0.1)
        assert server.request("GET", "/public/avatar", host=instance.domain)[2] == before
        assert Avatar.objects.get(instance=instance).size == len(before)
    finally:
        stop(server)
