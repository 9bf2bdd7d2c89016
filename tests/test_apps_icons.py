"""``GET /apps/{slug}/icon`` and ``/konnectors/{slug}/icon``: the manifest's icon from the release."""

from __future__ import annotations

import hashlib

import pytest
from django.test import Client

from cozy.apps import installs
from cozy.apps.icons import FALLBACK
from cozy.apps.models import Kind
from cozy.storage.buckets import ensure_system_buckets
from tests.apptars import make_tar, manifest
from tests.cozyclient import make_instance

pytestmark = pytest.mark.django_db(transaction=True)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>' * 20
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.fixture
def owner(fs_url):
    ensure_system_buckets()
    instance, token = make_instance("icons.localhost", "ivy")
    return instance, {"HTTP_HOST": instance.domain, "HTTP_AUTHORIZATION": f"Bearer {token}"}


def install(instance, tmp_path, slug: str, kind: str = Kind.WEB, **extra) -> None:
    name = "manifest.webapp" if kind == Kind.WEB else "manifest.konnector"
    files = {name: manifest(slug, "1.0.0", kind=kind, **extra), "img/icon.svg": SVG, "logo.png": PNG}
    installs.install(instance, kind, slug, f"file://{make_tar(tmp_path / f'{slug}.tar.gz', files)}")


def body(resp) -> bytes:
    return b"".join(resp.streaming_content) if resp.streaming else resp.content


def test_the_manifest_icon_with_its_type_etag_and_304(owner, tmp_path):
    instance, headers = owner
    install(instance, tmp_path, "drive", icon="/img/icon.svg")
    install(instance, tmp_path, "bank", kind=Kind.KONNECTOR, icon="logo.png")
    client = Client()
    resp = client.get("/apps/drive/icon", **headers)
    assert resp.status_code == 200 and body(resp) == SVG
    assert resp["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert resp["ETag"] == f'"{hashlib.md5(SVG).hexdigest()}"' and "sandbox" in resp["Content-Security-Policy"]
    assert client.get("/apps/drive/icon", HTTP_IF_NONE_MATCH=resp["ETag"], **headers).status_code == 304
    resp = client.get("/apps/drive/icon", HTTP_ACCEPT_ENCODING="br", **headers)
    assert resp["Content-Encoding"] == "br" and resp["ETag"].endswith('-br"')
    resp = client.get("/konnectors/bank/icon", **headers)
    assert resp.status_code == 200 and body(resp) == PNG and resp["Content-Type"] == "image/png"


@pytest.mark.parametrize("icon", [None, "nosuch.svg", "../../etc/passwd", "", 42])
def test_a_fallback_when_the_icon_is_absent(owner, tmp_path, icon):
    instance, headers = owner
    install(instance, tmp_path, "notes", **({} if icon is None else {"icon": icon}))
    client = Client()
    resp = client.get("/apps/notes/icon", **headers)
    assert resp.status_code == 200 and resp.content == FALLBACK and resp["Content-Type"] == "image/svg+xml"
    assert client.get("/apps/notes/icon", HTTP_IF_NONE_MATCH=resp["ETag"], **headers).status_code == 304


def test_icon_of_no_app_and_without_auth(owner):
    _, headers = owner
    client = Client()
    resp = client.get("/apps/nothere/icon", **headers)
    assert resp.status_code == 404 and resp.json()["errors"][0]["status"] == "404"
    assert client.get("/apps/nothere/icon", HTTP_HOST=headers["HTTP_HOST"]).status_code == 401
