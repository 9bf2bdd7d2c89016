"""The /apps and /konnectors JSON:API: 202 then a real Celery worker installs; download; errors."""

from __future__ import annotations

import io
import tarfile
import time

import pytest
from django.test import Client

from cozy.storage.buckets import ensure_system_buckets
from tests.apptars import make_tar, manifest, webapp_tar
from tests.cozyclient import make_instance


@pytest.fixture
def owner(celery_worker, settings):
    settings.COZY_APPS_API_FILE_SOURCES = True  # the tarballs are local files here
    ensure_system_buckets()
    instance, token = make_instance("api.localhost", "ann")
    return {"HTTP_HOST": instance.domain, "HTTP_AUTHORIZATION": f"Bearer {token}"}


def wait_state(client: Client, path: str, headers: dict, want: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = client.get(path, **headers).json()
        if doc["data"]["attributes"]["state"] == want:
            return doc
        time.sleep(0.2)
    raise AssertionError(f"{path} never became {want}: {doc}")


def test_install_list_download_uninstall(owner, tmp_path):
    client = Client()
    tar = webapp_tar(tmp_path / "drive.tar.gz")
    resp = client.post(f"/apps/drive?Source=file://{tar}", **owner)
    assert resp.status_code == 202 and resp.json()["data"]["attributes"]["state"] == "installing"
    assert resp["Content-Type"] == "application/vnd.api+json"
    doc = wait_state(client, "/apps/drive", owner, "ready")
    assert doc["data"]["id"] == "io.cozy.apps/drive" and doc["data"]["attributes"]["version"] == "1.0.0"
    assert client.post(f"/apps/drive?Source=file://{tar}", **owner).status_code == 409
    listed = client.get("/apps/", **owner).json()
    assert [d["attributes"]["slug"] for d in listed["data"]] == ["drive"]
    assert client.get("/konnectors/", **owner).json()["data"] == []
    resp = client.get("/apps/drive/download", **owner)
    assert resp.status_code == 200
    body = b"".join(resp.streaming_content)
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as got, tarfile.open(tar) as want:
        assert sorted(got.getnames()) == sorted(want.getnames())
        for name in want.getnames():
            assert got.extractfile(name).read() == want.extractfile(name).read()
    resp = client.delete("/apps/drive", **owner)
    assert resp.status_code == 200 and resp.json()["data"]["attributes"]["state"] == "uninstalled"
    assert client.get("/apps/drive", **owner).status_code == 404


def test_konnector_update_and_errors(owner, tmp_path):
    client = Client()
    k1 = make_tar(tmp_path / "k1.tar.gz", {"manifest.konnector": manifest("bank", "1.0.0", kind="konnector")})
    k2 = make_tar(tmp_path / "k2.tar.gz", {"manifest.konnector": manifest("bank", "2.0.0", kind="konnector")})
    assert client.post(f"/konnectors/bank?Source=file://{k1}", **owner).status_code == 202
    wait_state(client, "/konnectors/bank", owner, "ready")
    assert client.put(f"/konnectors/bank?Source=file://{k2}", **owner).status_code == 202
    deadline = time.monotonic() + 60
    while client.get("/konnectors/bank", **owner).json()["data"]["attributes"]["version"] != "2.0.0":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    bad = client.post("/apps/x?Source=https://example.org/x.tar.gz", **owner)
    assert bad.status_code == 400 and "sha256" in bad.json()["errors"][0]["detail"]
    assert client.post("/apps/x", **owner).status_code == 400
    assert client.get("/apps/nope", **owner).status_code == 404
    assert client.get("/apps/", HTTP_HOST=owner["HTTP_HOST"]).status_code == 401
    broken = make_tar(tmp_path / "b.tar.gz", {"manifest.webapp": manifest("other", "1.0.0")})
    assert client.post(f"/apps/broken?Source=file://{broken}", **owner).status_code == 202
    doc = wait_state(client, "/apps/broken", owner, "errored")
    assert "for the slug 'other'" in doc["data"]["attributes"]["error"]


def test_event_stream_follows_the_install(owner, tmp_path):
    import json

    client = Client()
    tar = webapp_tar(tmp_path / "drive.tar.gz")
    resp = client.post(f"/apps/drive?Source=file://{tar}", HTTP_ACCEPT="text/event-stream", **owner)
    assert resp.status_code == 200 and resp["Content-Type"] == "text/event-stream"
    events = b"".join(resp.streaming_content).decode().strip().split("\n\n")
    states = [json.loads(e.split("data: ", 1)[1])["attributes"]["state"] for e in events]
    assert states[0] == "installing" and states[-1] == "ready" and events[-1].startswith("event: state")
