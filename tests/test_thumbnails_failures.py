"""Thumbnail and preview jobs that fail or die: a killed worker's job is done again by the
next worker, and a preview that cannot be made is recorded like a thumbnail, never as an object."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from cozy.files.models import Node
from cozy.instances.services import org_bucket
from cozy.storage.buckets import ensure_org_bucket
from cozy.thumbnails.models import ThumbnailJob
from cozy.thumbnails.placeholder import placeholder_png
from cozy.thumbnails.store import thumbs_store
from tests.cozyclient import Cozy, doc_id, make_instance
from tests.images import jpeg_with_orientation, pdf_page
from tests.worker import Worker

pytestmark = pytest.mark.django_db(transaction=True)
SIZES = {"large": (1440, 1080), "medium": (960, 720), "small": (640, 480), "tiny": (96, 96)}


def wait_for(check, timeout: float, what: str, *workers: Worker) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            logs = "\n".join(w.log()[-2000:] for w in workers)
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.1)


def fetch(cozy: Cozy, url: str):
    """As an <img> loads it: the Host, no Authorization."""
    return cozy.client.get(url, HTTP_HOST=cozy.host)


def picture(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()  # a cut object would fail here
    return image


def stored(instance) -> dict[str, bytes]:
    store = thumbs_store(instance)
    return {obj.name: b"".join(store.read(obj.name)) for obj in store.list()}


def test_a_worker_killed_mid_job_leaves_whole_objects_and_the_next_one_finishes(
    transactional_db, shared_fs_url, settings, tmp_path, queue, s3_client
):
    settings.COZY_FS_URL = shared_fs_url
    instance, token = make_instance("crash.localhost", "cid", org="crash")
    ensure_org_bucket(instance.org_id)
    cozy = Cozy(instance, token, Client())
    # The first worker holds its job for two minutes after each stored thumbnail: killed in there.
    first = Worker(shared_fs_url, queue, tmp_path / "first.log", {"COZY_THUMBS_PAUSE_MS": "120000"}).start()
    try:
        resp = cozy.upload("photo.jpg", jpeg_with_orientation(1600, 1200, 1, corner=100), content_type="image/jpeg")
        assert resp.status_code == 201
        file_id, links = doc_id(resp), resp.json()["data"]["links"]
        content_id = Node.objects.get(doc_id=file_id).content_id
        job = ThumbnailJob.objects.filter(instance=instance, content_id=content_id)
        wait_for(lambda: len(stored(instance)) == 1 and job.filter(state="running").exists(), 60,
                 "the first thumbnail", first)  # fmt: skip
    finally:
        first.kill()
    # What the dead job left: one whole object (a sized PUT with its MD5), the rest not there.
    left = stored(instance)
    assert list(left) == [f"{file_id}/{content_id}-large"]
    assert picture(left[f"{file_id}/{content_id}-large"]).size == SIZES["large"]
    missing = fetch(cozy, links["tiny"])
    assert missing.status_code == 404 and missing.content == placeholder_png()
    assert job.get().state == "running"  # the route does not queue it again over the job's own row

    second = Worker(shared_fs_url, queue, tmp_path / "second.log").start()
    try:
        wait_for(lambda: len(stored(instance)) == 4 and not job.exists(), 90, "the job done again", second)
    finally:
        second.stop()
    made = stored(instance)
    assert sorted(made) == sorted(f"{file_id}/{content_id}-{fmt}" for fmt in SIZES)
    for fmt, size in SIZES.items():
        image = picture(made[f"{file_id}/{content_id}-{fmt}"])
        assert (image.format, image.size) == ("JPEG", size), fmt
        served = fetch(cozy, links[fmt])
        assert served.status_code == 200 and served.content == made[f"{file_id}/{content_id}-{fmt}"]
    listed = s3_client.list_objects(org_bucket(instance), prefix=instance.key_prefix, recursive=True)
    assert sorted(o.object_name.removeprefix(instance.key_prefix) for o in listed) == sorted(
        [f"files/{file_id}/{content_id}"] + [f"thumbs/{name}" for name in made]
    )  # nothing stray
    uploads = s3_client._list_multipart_uploads(org_bucket(instance)).uploads
    assert [u for u in uploads if u.object_name.startswith(instance.key_prefix)] == []


@pytest.fixture
def cozy(fs_url, s3_client) -> Cozy:
    instance, token = make_instance("alice.localhost", "alice", org="acme")
    return Cozy(instance, token, Client())


def preview_keys(cozy: Cozy, s3_client) -> list[str]:
    prefix = f"{cozy.instance.key_prefix}previews/"
    return [o.object_name for o in s3_client.list_objects(org_bucket(cozy.instance), prefix=prefix, recursive=True)]


def preview_job(cozy: Cozy, file_id: str) -> ThumbnailJob:
    return ThumbnailJob.objects.get(instance=cozy.instance, file_id=file_id, kind="preview")


def test_a_corrupt_pdf_is_recorded_once_and_stores_nothing(cozy, s3_client):
    resp = cozy.upload("bad.pdf", b"%PDF-1.4 not really", content_type="application/pdf")
    url = resp.json()["data"]["links"]["preview"]
    got = fetch(cozy, url)
    assert got.status_code == 404 and "corrupt" in got.json()["errors"][0]["detail"]
    job = preview_job(cozy, doc_id(resp))
    assert (job.state, job.reason, job.permanent, job.attempts) == ("failed", "corrupt", True, 1)
    assert preview_keys(cozy, s3_client) == []  # no empty marker in the store
    again = fetch(cozy, url)
    assert again.status_code == 404 and "corrupt" in again.json()["errors"][0]["detail"]
    assert preview_job(cozy, doc_id(resp)).updated_at == job.updated_at  # answered from the record
    assert not ThumbnailJob.objects.filter(kind="thumbs").exists()  # the thumbnails' row is another one
    # Deleted for good: the record goes with the content.
    assert cozy.client.delete(f"/files/{doc_id(resp)}", **cozy._h()).status_code == 200
    assert cozy.client.delete(f"/files/trash/{doc_id(resp)}", **cozy._h()).status_code == 204
    assert not ThumbnailJob.objects.exists()


def test_a_passing_preview_failure_is_retried_after_its_backoff(cozy, s3_client, settings):
    resp = cozy.upload("paper.pdf", pdf_page(595, 842), content_type="application/pdf")
    file_id, url = doc_id(resp), resp.json()["data"]["links"]["preview"]
    settings.COZY_THUMBS_TIME_LIMIT = 1e-6  # every render is past its time limit: a passing failure
    got = fetch(cozy, url)
    assert got.status_code == 503 and "timeout" in got.json()["errors"][0]["detail"], got.content[:300]
    job = preview_job(cozy, file_id)
    assert (job.state, job.reason, job.permanent, job.attempts) == ("failed", "timeout", False, 1)
    settings.COZY_THUMBS_TIME_LIMIT = 30
    held = fetch(cozy, url)  # within the backoff: not tried again, said when to come back
    assert held.status_code == 503 and 0 < int(held["Retry-After"]) <= 300
    assert preview_job(cozy, file_id).updated_at == job.updated_at
    assert preview_keys(cozy, s3_client) == []

    ThumbnailJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(minutes=6))
    made = fetch(cozy, url)
    assert made.status_code == 200 and picture(made.content).width == 1080
    assert not ThumbnailJob.objects.filter(kind="preview").exists()
    assert len(preview_keys(cozy, s3_client)) == 1
