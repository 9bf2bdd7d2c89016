"""GET /settings/disk-usage: cozy-stack's document, with the instance's own numbers."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.cozyclient import Cozy, doc_id, make_instance
from tests.test_files_api import assert_error

pytestmark = pytest.mark.django_db(transaction=True)


def usage(cozy: Cozy, query: str = "") -> dict:
    resp = cozy.get(f"/settings/disk-usage{query}")
    assert resp.status_code == 200 and resp["Content-Type"] == "application/vnd.api+json"
    data = resp.json()["data"]
    assert data["type"] == "io.cozy.settings" and data["id"] == "io.cozy.settings.disk-usage"
    return data["attributes"]


def test_used_quota_versions_and_trash(fs_url, s3_client):
    instance, token = make_instance("usage.localhost", "uma", quota=100_000)
    cozy = Cozy(instance, token, Client())
    assert usage(cozy) == {"is_limited": True, "quota": "100000", "used": "0", "files": "0", "versions": "0"}
    fid = doc_id(cozy.upload("a.bin", b"a" * 1000))
    cozy.put(fid, b"b" * 3000)  # the 1000 bytes become a version
    doc_id(cozy.upload("c.bin", b"c" * 500))
    assert usage(cozy) == {"is_limited": True, "quota": "100000", "used": "4500", "files": "3500",
                           "versions": "1000"}
    folder = doc_id(cozy.mkdir("old"))
    cozy.upload("d.bin", b"d" * 200, folder)
    cozy.delete(f"/files/{folder}")
    assert usage(cozy, "?include=trash")["trash"] == "200"  # what a folder in the trash holds
    assert usage(cozy)["used"] == "4700"  # the trash still counts against the quota


def test_unlimited_has_no_quota_and_the_route_needs_credentials(fs_url, s3_client):
    instance, token = make_instance("usage2.localhost", "ulf")
    attrs = usage(Cozy(instance, token, Client()))
    assert attrs["is_limited"] is False and "quota" not in attrs
    assert_error(Client().get("/settings/disk-usage", HTTP_HOST="usage2.localhost"), 401)
