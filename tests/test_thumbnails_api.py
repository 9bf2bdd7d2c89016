"""Thumbnails end to end: real SeaweedFS, real database, a real Celery worker where it matters."""

from __future__ import annotations

import io
import time

import pytest
from django.test import Client
from PIL import Image

from cozy.files.models import Node
from cozy.instances.services import org_bucket
from cozy.thumbnails.generate import generate
from cozy.thumbnails.models import ThumbnailJob
from cozy.thumbnails.placeholder import placeholder_png
from cozy.thumbnails.store import thumbs_store
from cozy.thumbnails.tasks import make_thumbnails
from tests.cozyclient import Cozy, doc_id, make_instance
from tests.images import BLUE, RED, close, encoded, jpeg_with_orientation, marked, pdf_page

pytestmark = pytest.mark.django_db(transaction=True)
FORMATS = ("large", "medium", "small", "tiny")
BOXES = {"large": (1920, 1080), "medium": (1280, 720), "small": (640, 480), "tiny": (96, 96)}


@pytest.fixture
def cozy(fs_url, s3_client) -> Cozy:
    instance, token = make_instance("alice.localhost", "alice", org="acme")
    return Cozy(instance, token, Client())


def thumb_keys(cozy: Cozy, s3_client) -> list[str]:
    prefix = f"{cozy.instance.key_prefix}thumbs/"
    listed = s3_client.list_objects(org_bucket(cozy.instance), prefix=prefix, recursive=True)
    return sorted(o.object_name[len(prefix) :] for o in listed)


def links_of(resp) -> dict[str, str]:
    return resp.json()["data"]["links"]


def fetch(cozy: Cozy, url: str, **headers):
    """A thumbnail URL as an <img> loads it: the Host, no Authorization."""
    return cozy.client.get(url, HTTP_HOST=cozy.host, **headers)


def picture(resp) -> Image.Image:
    image = Image.open(io.BytesIO(resp.content))
    image.load()
    return image


def run_job(cozy: Cozy, file_id: str) -> str:
    """The task, run in this process (the worker tests run it in a real worker)."""
    node = Node.objects.get(instance=cozy.instance, doc_id=file_id)
    return make_thumbnails.apply(args=(cozy.instance.pk, file_id, node.content_id)).get()


def test_links_only_for_images_and_pdfs(cozy):
    photo = cozy.upload("photo.jpg", jpeg_with_orientation(300, 200, 1, corner=20), content_type="image/jpeg")
    links = links_of(photo)
    assert set(links) >= set(FORMATS)
    secret = links["tiny"].split("/")[4]
    assert all(links[f] == f"/files/{doc_id(photo)}/thumbnails/{secret}/{f}" for f in FORMATS)
    pdf = cozy.upload("doc.pdf", pdf_page(200, 300), content_type="application/pdf")
    assert set(links_of(pdf)) >= set(FORMATS)
    text = cozy.upload("notes.txt", b"hello", content_type="text/plain")
    assert not set(links_of(text)) & set(FORMATS)
    svg = cozy.upload("x.svg", b"<svg/>", content_type="image/svg+xml")
    assert not set(links_of(svg)) & set(FORMATS)
    listing = cozy.get("/files/io.cozy.files.root-dir").json()["included"]
    with_links = {c["attributes"]["name"] for c in listing if "tiny" in c["links"]}
    assert with_links == {"photo.jpg", "doc.pdf"}


def test_missing_then_made_then_cached(cozy, s3_client):
    resp = cozy.upload("photo.jpg", jpeg_with_orientation(1600, 1200, 1, corner=100), content_type="image/jpeg")
    file_id, links = doc_id(resp), links_of(resp)
    content_id = Node.objects.get(doc_id=file_id).content_id

    missing = fetch(cozy, links["small"])
    assert missing.status_code == 404 and missing["Content-Type"] == "image/png"
    assert missing.content == placeholder_png()
    job = ThumbnailJob.objects.get(instance=cozy.instance, content_id=content_id)
    assert (job.state, job.attempts) == ("queued", 1)
    assert fetch(cozy, links["small"]).status_code == 404
    assert ThumbnailJob.objects.get(pk=job.pk).attempts == 1  # queued once, not on every request

    assert run_job(cozy, file_id) == "made 4"
    assert thumb_keys(cozy, s3_client) == [f"{file_id}/{content_id}-{f}" for f in sorted(FORMATS)]
    assert not ThumbnailJob.objects.filter(pk=job.pk).exists()
    for fmt in FORMATS:
        got = fetch(cozy, links[fmt])
        assert got.status_code == 200 and got["Content-Type"] == "image/jpeg"
        assert got["X-Content-Type-Options"] == "nosniff" and got["Content-Security-Policy"] == "default-src 'none'"
        image = picture(got)
        assert image.format == "JPEG" and image.width <= BOXES[fmt][0] and image.height <= BOXES[fmt][1]
        assert int(got["Content-Length"]) == len(got.content)
    large = fetch(cozy, links["large"])
    assert picture(large).size == (1440, 1080) and close(picture(large).getpixel((3, 3)), RED)
    again = fetch(cozy, links["large"], HTTP_IF_NONE_MATCH=large["ETag"])
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == large["ETag"]
    # Run again (a redelivered message): the same keys, nothing added.
    assert run_job(cozy, file_id) == "made 4"
    assert len(thumb_keys(cozy, s3_client)) == 4


def test_bad_secrets_formats_and_hosts(cozy, monkeypatch):
    resp = cozy.upload("photo.jpg", jpeg_with_orientation(400, 300, 1, corner=20), content_type="image/jpeg")
    file_id, url = doc_id(resp), links_of(resp)["tiny"]
    run_job(cozy, file_id)
    assert fetch(cozy, url).status_code == 200
    secret = url.split("/")[4]

    def error(resp, status):
        assert resp.status_code == status, resp.content[:200]
        body = resp.json()
        assert body["errors"][0]["status"] == str(status)
        assert cozy.instance.db_prefix not in resp.content.decode() and "thumbs/" not in resp.content.decode()

    error(fetch(cozy, url.replace("/tiny", "/huge")), 404)
    error(fetch(cozy, url.replace("/tiny", "/preview")), 404)
    error(fetch(cozy, url.replace(secret, secret[:-2] + "xx")), 403)
    error(fetch(cozy, url.replace(secret, "nonsense")), 403)
    other = cozy.upload("other.jpg", jpeg_with_orientation(400, 300, 1, corner=20), content_type="image/jpeg")
    error(fetch(cozy, url.replace(file_id, doc_id(other))), 403)  # a secret opens its own file only
    # Another instance of the same cloud: the secret is bound to the instance.
    bob, _ = make_instance("bob.localhost", "bob")
    error(cozy.client.get(url, HTTP_HOST=bob.domain), 403)
    error(cozy.client.get(url, HTTP_HOST="nobody.localhost"), 404)
    assert cozy.client.post(url, HTTP_HOST=cozy.host).status_code == 405
    # Ten minutes later the link has expired.
    from django.core import signing

    now = time.time()
    monkeypatch.setattr(signing.time, "time", lambda: now + 601)
    error(fetch(cozy, url), 410)


def test_an_overwrite_never_serves_the_old_thumbnail(cozy, s3_client, settings):
    red = encoded(Image.new("RGB", (800, 600), RED), "JPEG")
    blue = encoded(Image.new("RGB", (800, 600), BLUE), "JPEG")
    resp = cozy.upload("photo.jpg", red, content_type="image/jpeg")
    file_id, old_links = doc_id(resp), links_of(resp)
    run_job(cozy, file_id)
    assert close(picture(fetch(cozy, old_links["small"])).getpixel((10, 10)), RED)

    new_links = links_of(cozy.put(file_id, blue))
    assert new_links["small"] != old_links["small"]
    assert fetch(cozy, new_links["small"]).status_code == 404  # the placeholder, never the red one
    run_job(cozy, file_id)
    assert close(picture(fetch(cozy, new_links["small"])).getpixel((10, 10)), BLUE)
    # The old link still shows the old content, which is kept as a version.
    assert close(picture(fetch(cozy, old_links["small"])).getpixel((10, 10)), RED)

    settings.COZY_MAX_VERSIONS = 0  # the next overwrite prunes every older content, and their thumbnails
    assert cozy.put(file_id, red).status_code == 200
    current = Node.objects.get(doc_id=file_id).content_id
    assert thumb_keys(cozy, s3_client) == []  # both older contents pruned; the new one has none yet
    assert fetch(cozy, old_links["small"]).status_code == 404
    run_job(cozy, file_id)
    assert {k.split("-")[0] for k in thumb_keys(cozy, s3_client)} == {f"{file_id}/{current}"}


def test_delete_for_good_and_empty_trash_leave_no_thumbnail(cozy, s3_client):
    ids = []
    files = {"a.jpg": encoded(marked(300, 200, 20), "JPEG"), "b.png": encoded(marked(300, 200, 20), "PNG"),
             "c.pdf": pdf_page(200, 300)}  # fmt: skip
    for name, data in files.items():
        file_id = doc_id(cozy.upload(name, data))
        assert run_job(cozy, file_id) == "made 4"
        ids.append(file_id)
    assert len(thumb_keys(cozy, s3_client)) == 12
    for file_id in ids:
        assert cozy.client.delete(f"/files/{file_id}", **cozy._h()).status_code == 200
    assert cozy.client.delete(f"/files/trash/{ids[0]}", **cozy._h()).status_code == 204
    assert len(thumb_keys(cozy, s3_client)) == 8 and not any(k.startswith(ids[0]) for k in thumb_keys(cozy, s3_client))
    assert cozy.client.delete("/files/trash", **cozy._h()).status_code == 200
    assert thumb_keys(cozy, s3_client) == []


def test_corrupt_files_and_bombs_never_fail_the_upload(cozy, s3_client):
    good = jpeg_with_orientation(600, 400, 1, corner=20)
    corrupt = cozy.upload("broken.jpg", good[: len(good) // 3], content_type="image/jpeg")
    bomb = cozy.upload("bomb.png", encoded(Image.new("1", (10_000, 10_000)), "PNG"), content_type="image/png")
    fake = cozy.upload("page.png", b"<html><script>alert(1)</script></html>", content_type="image/png")
    for resp, reason in ((corrupt, "corrupt"), (bomb, "bomb"), (fake, "unsupported")):
        assert resp.status_code == 201
        assert run_job(cozy, doc_id(resp)) == reason
        job = ThumbnailJob.objects.get(file_id=doc_id(resp))
        assert (job.state, job.reason, job.permanent) == ("failed", reason, True)
        missing = fetch(cozy, links_of(resp)["tiny"])
        assert missing.status_code == 404 and missing.content == placeholder_png()
        assert ThumbnailJob.objects.get(pk=job.pk).attempts == 1  # a permanent failure is not queued again
    assert thumb_keys(cozy, s3_client) == []


def test_a_file_over_the_size_limit_is_skipped(cozy, s3_client, settings):
    data = encoded(marked(300, 300, 20), "PNG")
    settings.COZY_THUMBS_MAX_BYTES = len(data) - 1
    resp = cozy.upload("big.png", data, content_type="image/png")
    assert run_job(cozy, doc_id(resp)) == "too_large"
    assert thumb_keys(cozy, s3_client) == []


def test_a_content_deleted_while_its_job_runs_keeps_no_thumbnail(cozy, s3_client):
    resp = cozy.upload("photo.jpg", jpeg_with_orientation(400, 300, 1, corner=20), content_type="image/jpeg")
    file_id = doc_id(resp)
    content_id = Node.objects.get(doc_id=file_id).content_id
    assert cozy.client.delete(f"/files/{file_id}", **cozy._h()).status_code == 200
    assert cozy.client.delete(f"/files/trash/{file_id}", **cozy._h()).status_code == 204
    assert generate(cozy.instance, file_id, content_id) == []  # a late job: nothing to make, nothing written
    assert thumb_keys(cozy, s3_client) == []


def wait_for(check, timeout: float, what: str, worker) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{worker.log()[-3000:]}")
        time.sleep(0.1)


def test_an_upload_gets_its_thumbnails_from_the_worker(celery_worker, shared_fs_url):
    from cozy.storage.buckets import ensure_org_bucket

    instance, token = make_instance("carol.localhost", "carol")
    ensure_org_bucket(instance.org_id)
    cozy = Cozy(instance, token, Client())
    # 6000x4000 as stored, turned by EXIF orientation 6: upright it is 4000x6000, red top-right.
    resp = cozy.upload("IMG_0001.JPG", jpeg_with_orientation(6000, 4000, orientation=6), content_type="image/jpeg")
    assert resp.status_code == 201
    links = links_of(resp)
    # Queued by the upload's commit: the four objects appear without any thumbnail being asked for.
    store = thumbs_store(instance)
    wait_for(lambda: len(list(store.list())) == 4, 60, "the thumbnails", celery_worker)
    sizes = {}
    for fmt in FORMATS:
        image = picture(fetch(cozy, links[fmt]))
        sizes[fmt] = image.size
        w, h = image.size
        if fmt != "tiny":
            assert close(image.getpixel((w - 4, 4)), RED) and close(image.getpixel((3, h - 4)), BLUE), fmt
    assert sizes == {"large": (720, 1080), "medium": (480, 720), "small": (320, 480), "tiny": (96, 96)}
    assert "made 4" in celery_worker.log()
    assert not ThumbnailJob.objects.filter(instance=instance).exists()  # the route never had to queue it


def test_a_copy_gets_its_thumbnails_from_the_worker(celery_worker, shared_fs_url):
    from cozy.storage.buckets import ensure_org_bucket

    instance, token = make_instance("dave.localhost", "dave")
    ensure_org_bucket(instance.org_id)
    cozy = Cozy(instance, token, Client())
    source = doc_id(cozy.upload("photo.jpg", jpeg_with_orientation(800, 600, 1, corner=40), content_type="image/jpeg"))
    store = thumbs_store(instance)
    wait_for(lambda: len(list(store.list())) == 4, 60, "the source's thumbnails", celery_worker)
    resp = cozy.post(f"/files/{source}/copy")
    assert resp.status_code == 201, resp.content
    copy_id, links = doc_id(resp), links_of(resp)
    content_id = Node.objects.get(instance=instance, doc_id=copy_id).content_id
    # Queued by the copy's commit, as for an upload: nobody asks for them first.
    wanted = {f"{copy_id}/{content_id}-{f}" for f in FORMATS}
    wait_for(lambda: wanted <= {o.name for o in store.list()}, 60, "the copy's thumbnails", celery_worker)
    assert len(list(store.list())) == 8
    for fmt in FORMATS:
        got = fetch(cozy, links[fmt])
        assert got.status_code == 200 and got["Content-Type"] == "image/jpeg", fmt
        assert picture(got).format == "JPEG"
    assert not ThumbnailJob.objects.filter(instance=instance).exists()


def test_regenerate_command(cozy, s3_client):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    photo = doc_id(cozy.upload("a.jpg", jpeg_with_orientation(400, 300, 1, corner=20), content_type="image/jpeg"))
    doc = doc_id(cozy.upload("b.pdf", pdf_page(200, 300), content_type="application/pdf"))
    cozy.upload("broken.png", b"\x89PNG\r\n\x1a\n broken", content_type="image/png")
    cozy.upload("notes.txt", b"text", content_type="text/plain")
    out = io.StringIO()
    call_command("thumbnails", "regenerate", cozy.host, stdout=out)
    assert out.getvalue().strip() == f"{cozy.host}: 2 made, 1 failed, 0 skipped"
    assert {k.split("/")[0] for k in thumb_keys(cozy, s3_client)} == {photo, doc}
    assert len(thumb_keys(cozy, s3_client)) == 8

    # --missing: only contents lacking a thumbnail are made again.
    first = thumb_keys(cozy, s3_client)[0]
    s3_client.remove_object(org_bucket(cozy.instance), f"{cozy.instance.key_prefix}thumbs/{first}")
    out = io.StringIO()
    call_command("thumbnails", "regenerate", "--all", "--missing", stdout=out)
    assert f"{cozy.host}: 1 made, 1 failed, 1 skipped" in out.getvalue()
    assert len(thumb_keys(cozy, s3_client)) == 8
    with pytest.raises(CommandError, match="no such instance"):
        call_command("thumbnails", "regenerate", "nobody.localhost", stdout=io.StringIO())
    with pytest.raises(CommandError, match="one domain, or --all"):
        call_command("thumbnails", "regenerate", stdout=io.StringIO())


def preview_keys(cozy: Cozy, s3_client) -> list[str]:
    prefix = f"{cozy.instance.key_prefix}previews/"
    listed = s3_client.list_objects(org_bucket(cozy.instance), prefix=prefix, recursive=True)
    return sorted(o.object_name[len(prefix) :] for o in listed)


def test_pdf_preview_and_icon(cozy, s3_client):
    from datetime import timedelta

    from django.utils import timezone

    from cozy.thumbnails.models import Preview
    from cozy.thumbnails.tasks import sweep_previews

    resp = cozy.upload("paper.pdf", pdf_page(595, 842), content_type="application/pdf")
    file_id, links = doc_id(resp), links_of(resp)
    content_id = Node.objects.get(doc_id=file_id).content_id
    assert links["icon"] == f"/files/{file_id}/icon/{links['tiny'].split('/')[4]}"
    got = fetch(cozy, links["preview"])  # made on first use
    assert got.status_code == 200 and got["Content-Type"] == "image/jpeg", got.content[:200]
    image = picture(got)
    assert image.width == 1080 and image.height in (1528, 1529) and close(image.getpixel((4, 4)), RED)
    assert preview_keys(cozy, s3_client) == [f"{file_id}/{content_id}-preview"]
    assert fetch(cozy, links["preview"]).content == got.content  # from the store now
    assert fetch(cozy, links["preview"], HTTP_IF_NONE_MATCH=got["ETag"]).status_code == 304
    assert fetch(cozy, links["icon"]).status_code == 404  # the tiny thumbnail, not made yet
    run_job(cozy, file_id)
    assert picture(fetch(cozy, links["icon"])).size == (96, 96)

    photo = cozy.upload("p.jpg", jpeg_with_orientation(300, 200, 1, corner=20), content_type="image/jpeg")
    assert "preview" not in links_of(photo)
    photo_secret = links_of(photo)["tiny"].split("/")[4]
    assert fetch(cozy, f"/files/{doc_id(photo)}/preview/{photo_secret}").status_code == 404

    # Unused for longer than COZY_PREVIEWS_MAX_AGE: the periodic task removes it.
    Preview.objects.filter(content_id=content_id).update(last_used=timezone.now() - timedelta(days=31))
    assert sweep_previews() == 1
    assert preview_keys(cozy, s3_client) == [] and not Preview.objects.exists()
    assert fetch(cozy, links["preview"]).status_code == 200  # made again when asked for
    # Deleted for good: preview and thumbnails go with the content.
    assert cozy.client.delete(f"/files/{file_id}", **cozy._h()).status_code == 200
    assert cozy.client.delete(f"/files/trash/{file_id}", **cozy._h()).status_code == 204
    assert preview_keys(cozy, s3_client) == [] and not Preview.objects.exists()
    assert not [k for k in thumb_keys(cozy, s3_client) if k.startswith(file_id)]


def test_a_corrupt_pdf_has_no_preview(cozy):
    resp = cozy.upload("bad.pdf", b"%PDF-1.4 not really", content_type="application/pdf")
    got = fetch(cozy, links_of(resp)["preview"])
    assert got.status_code == 404 and "corrupt" in got.json()["errors"][0]["detail"]


def test_fsck_knows_thumbnails_and_previews(cozy, s3_client):
    from cozy.fsck.runner import Options, check_instance

    resp = cozy.upload("paper.pdf", pdf_page(200, 300), content_type="application/pdf")
    run_job(cozy, doc_id(resp))
    assert fetch(cozy, links_of(resp)["preview"]).status_code == 200
    report = check_instance(cozy.instance, Options())
    assert report.anomalies == [] and report.objects == 1 + 4 + 1
    bucket, prefix = org_bucket(cozy.instance), cozy.instance.key_prefix
    for key in ("thumbs/f0/c0-tiny", "previews/f0/c0-preview"):
        s3_client.put_object(bucket, prefix + key, io.BytesIO(b"x"), 1)
    found = {(a.type, a.object) for a in check_instance(cozy.instance, Options()).anomalies}
    assert found == {
        ("thumbnail_with_no_file", "thumbs/f0/c0-tiny"),
        ("thumbnail_with_no_file", "previews/f0/c0-preview"),
    }


def test_a_store_outage_is_retried_then_recorded_and_nothing_half_made(s3_config, settings, s3_client):
    import dataclasses

    from tests.faultproxy import CuttingProxy

    proxy = CuttingProxy(s3_config.host, s3_config.port)
    try:
        settings.COZY_FS_URL = dataclasses.replace(s3_config, host="127.0.0.1", port=proxy.port).to_url()
        instance, token = make_instance("flaky.localhost", "flo", org="faults")
        cozy = Cozy(instance, token, Client())
        file_id = doc_id(cozy.upload("p.jpg", jpeg_with_orientation(1600, 1200, 1, corner=50)))
        proxy.cut_after(20_000)  # reads pass (small requests); every thumbnail PUT past 20 kB is cut
        assert run_job(cozy, file_id) == "storage"  # three retries (eager here), then recorded
        assert proxy.cuts >= 4
        job = ThumbnailJob.objects.get(file_id=file_id)
        assert (job.state, job.reason, job.permanent) == ("failed", "storage", False)
        assert thumb_keys(cozy, s3_client) == []  # the large one goes first: nothing half made, no marker
        proxy.heal()
        assert run_job(cozy, file_id) == "made 4"  # what a later retry does
        assert len(thumb_keys(cozy, s3_client)) == 4 and not ThumbnailJob.objects.filter(file_id=file_id).exists()
    finally:
        proxy.close()


def test_instance_deletion_leaves_no_thumbnail_preview_or_avatar(cozy, s3_client):
    from cozy.avatars.models import Avatar
    from cozy.deletion.models import DeletionJob
    from cozy.deletion.runner import run_job as run_deletion
    from cozy.deletion.services import open_job
    from cozy.thumbnails.models import Preview

    resp = cozy.upload("paper.pdf", pdf_page(200, 300), content_type="application/pdf")
    run_job(cozy, doc_id(resp))
    assert fetch(cozy, links_of(resp)["preview"]).status_code == 200
    bad = cozy.upload("bad.jpg", b"\xff\xd8\xff broken", content_type="image/jpeg")
    run_job(cozy, doc_id(bad))
    avatar = cozy.client.put("/settings/avatar", data=encoded(marked(64, 64, 8), "PNG"), content_type="image/png",
                             **cozy._h())  # fmt: skip
    assert avatar.status_code == 204
    assert len(thumb_keys(cozy, s3_client)) == 4 and len(preview_keys(cozy, s3_client)) == 1
    assert ThumbnailJob.objects.exists() and Preview.objects.exists() and Avatar.objects.exists()

    deletion, _ = open_job(cozy.host)
    assert run_deletion(deletion.pk) == DeletionJob.State.DONE
    listed = s3_client.list_objects(org_bucket(cozy.instance), prefix=cozy.instance.key_prefix, recursive=True)
    assert list(listed) == []
    assert not ThumbnailJob.objects.exists() and not Preview.objects.exists() and not Avatar.objects.exists()


def test_the_preview_sweep_is_scheduled(settings):
    assert settings.CELERY_BEAT_SCHEDULE["sweep-previews"]["task"] == "cozy.thumbnails.tasks.sweep_previews"
    assert "remove-expired-exports" in settings.CELERY_BEAT_SCHEDULE  # one schedule for every app
