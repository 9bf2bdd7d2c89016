"""Exports: zip parts in the instance's exports area, their manifest and downloads."""

from __future__ import annotations

import dataclasses
import io
import json
import time
import zipfile
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from cozy.apps.models import Installation
from cozy.celery import app as celery_app
from cozy.deletion.runner import run_job
from cozy.deletion.services import open_job
from cozy.exports.archive import PartWriter
from cozy.exports.models import Export
from cozy.exports.runner import exports_store, run_export
from cozy.exports.services import request_export, token_for
from cozy.exports.snapshot import take
from cozy.exports.tasks import remove_expired_exports
from cozy.files.models import Node
from cozy.fsck.runner import Options, check_instance
from cozy.instances.services import org_bucket
from cozy.storage.stores import store_for
from s3util import make_client, parse_fs_url
from tests.cozyclient import Cozy, make_instance
from tests.exporttree import MiB, build_tree, index_of, md5, metadata_of, part_bytes, zips_of
from tests.faultproxy import CuttingProxy
from tests.worker import Worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cozy(fs_url) -> Cozy:
    instance, token = make_instance("alice.localhost", "alice", org="exp")
    return Cozy(instance, token, Client())


def keys(s3_client, instance) -> list[str]:
    listed = s3_client.list_objects(org_bucket(instance), prefix=instance.key_prefix + "exports/", recursive=True)
    return sorted(o.object_name.removeprefix(instance.key_prefix) for o in listed)


def test_export_writes_checked_parts_with_every_content(cozy, s3_client, settings, django_capture_on_commit_callbacks):
    settings.COZY_EXPORT_PART_SIZE = 2 * MiB  # the 3 MiB photo gets a part of its own
    tree = build_tree(cozy)
    with django_capture_on_commit_callbacks(execute=False):
        export = request_export(cozy.instance)
    assert run_export(export.pk) == "done"
    export.refresh_from_db()
    assert export.state == "done" and export.error == ""
    assert len(export.parts) >= 2
    assert keys(s3_client, cozy.instance) == sorted(f"exports/{export.part_name(p['n'])}" for p in export.parts)
    for part in export.parts:
        data = part_bytes(export, part["n"])
        assert (len(data), md5(data)) == (part["size"], part["md5"])
    zips = zips_of(export)
    assert all(zf.testzip() is None for zf in zips)
    meta = metadata_of(export)
    assert meta["format"] == "cozy-export" and meta["parts"] == len(export.parts)
    assert meta["instance"]["domain"] == "alice.localhost" and "db_prefix" not in str(meta)
    index = index_of(cozy.instance)
    records = {r["id"]: r for r in meta["files"]}
    assert set(records) == set(index)
    for file_id, row in index.items():
        rec = records[file_id]
        assert (rec["name"], rec["type"], rec["trashed"]) == (row["name"], row["type"], row["trashed"])
        if row["type"] != "file":
            continue
        data = zips[rec["part"] - 1].read(rec["entry"])
        assert (len(data), md5(data)) == (row["size"], row["md5"])
        assert [v["id"] for v in rec["versions"]] == [v[0] for v in row["versions"]]
        for v in rec["versions"]:
            assert md5(zips[v["part"] - 1].read(v["entry"])) == v["md5"]
    assert records[tree.ids["text"]]["entry"] == "files/Dossier été 📁/日本語/naïve 文件.txt"
    text_info = zips[records[tree.ids["text"]]["part"] - 1].getinfo(records[tree.ids["text"]]["entry"])
    assert text_info.compress_type == zipfile.ZIP_DEFLATED and text_info.compress_size < text_info.file_size
    big = records[tree.ids["big"]]
    assert zips[big["part"] - 1].getinfo(big["entry"]).compress_type == zipfile.ZIP_STORED
    assert records[tree.ids["trashed"]]["entry"].startswith("files/.cozy_trash/")
    assert len(records[tree.ids["versioned"]]["versions"]) == 2


def test_the_metadata_lists_the_installed_apps_without_credentials(cozy, django_capture_on_commit_callbacks):
    source = "https://deploy:s3cr3t@apps.example/notes-1.2.0.tar.gz#" + "a" * 64
    Installation.objects.create(instance=cozy.instance, kind="webapp", slug="notes", source=source, state="ready")
    Installation.objects.create(instance=cozy.instance, kind="konnector", slug="bank", source="registry://bank/stable",
                                state="ready")  # fmt: skip
    Installation.objects.create(instance=cozy.instance, kind="webapp", slug="half", source="registry://half",
                                state="installing")  # not installed: not listed
    other, _ = make_instance("bob.localhost", "bob", org="exp")
    Installation.objects.create(instance=other, kind="webapp", slug="bobs", source="registry://bobs", state="ready")
    with django_capture_on_commit_callbacks(execute=False):
        export = request_export(cozy.instance)
    assert run_export(export.pk) == "done"
    apps = metadata_of(Export.objects.get(pk=export.pk))["apps"]
    assert apps == [
        {"kind": "konnector", "slug": "bank", "source": "registry://bank/stable", "version": ""},
        {"kind": "webapp", "slug": "notes", "source": "https://apps.example/notes-1.2.0.tar.gz#" + "a" * 64,
         "version": ""},
    ]  # fmt: skip


def test_the_command_waits_and_prints_the_manifest_url(cozy, celery_worker):
    build_tree(cozy, big=100_000)
    out = io.StringIO()
    call_command("instances", "export", cozy.host, "--wait", stdout=out)
    export = Export.objects.get(instance=cozy.instance)
    assert export.state == "done", celery_worker.log()[-3000:]
    last = out.getvalue().strip().splitlines()[-1]
    assert last.startswith("manifest: http://alice.localhost/move/exports/")  # https under COZY_HTTPS




def wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def done_export(cozy: Cozy, queue: str) -> Export:
    export = request_export(cozy.instance)
    assert run_export(export.pk) == "done"
    export.refresh_from_db()
    return export


def test_api_export_manifest_and_ranged_parts(cozy, celery_worker):
    tree = build_tree(cozy, big=200_000)
    resp = cozy.post("/move/exports")
    assert resp.status_code == 201, resp.content
    doc = resp.json()["data"]
    url = doc["links"]["self"]
    assert url.startswith("http://alice.localhost/move/exports/")
    path = url.removeprefix("http://alice.localhost")
    anonymous = Client()

    def manifest() -> dict:
        got = anonymous.get(path, HTTP_HOST=cozy.host)
        assert got.status_code == 200, got.content
        return got.json()["data"]["attributes"]

    wait_for(lambda: manifest()["state"] == "done", 60, "the export")
    attrs = manifest()
    assert attrs["files_done"] == attrs["files_total"] == 7  # 5 files, 2 kept versions
    assert attrs["bytes_done"] == attrs["bytes_total"] > 200_000
    (part,) = attrs["parts"]
    assert part["url"] == f"{url}/parts/1"
    got = anonymous.get(f"{path}/parts/1", HTTP_HOST=cozy.host)
    assert got.status_code == 200 and got["Content-Type"] == "application/zip"
    data = b"".join(got.streaming_content)
    assert (len(data), md5(data)) == (part["size"], part["md5"])
    ranged = anonymous.get(f"{path}/parts/1", HTTP_HOST=cozy.host, HTTP_RANGE="bytes=100-1099")
    assert ranged.status_code == 206 and b"".join(ranged.streaming_content) == data[100:1100]
    assert ranged["Content-Range"] == f"bytes 100-1099/{len(data)}"
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "cozy-export.json" in names and "files/vide" in names
    assert tree.ids  # the tree is there
    assert anonymous.get(f"{path}/parts/2", HTTP_HOST=cozy.host).status_code == 404

    # A forged, altered or foreign token is refused, and says nothing of the store.
    other, _ = make_instance("bob.localhost", "bob", org="exp")
    for bad_path, host in ((path + "x", cozy.host), (path[:-3] + "abc", cozy.host), (path, other.domain),
                           ("/move/exports/nonsense", cozy.host), (f"{path}x/parts/1", cozy.host)):
        refused = anonymous.get(bad_path, HTTP_HOST=host)
        assert refused.status_code == 401, (bad_path, refused.content)
        assert "invalid or expired" in refused.json()["errors"][0]["detail"]
    assert Client().post("/move/exports", HTTP_HOST=cozy.host).status_code == 401


def test_a_second_export_while_one_runs_is_refused(cozy, queue):
    first = cozy.post("/move/exports")
    assert first.status_code == 201
    second = cozy.post("/move/exports")
    assert second.status_code == 409
    assert "under way" in second.json()["errors"][0]["detail"]
    assert Export.objects.filter(instance=cozy.instance).count() == 1
    Export.objects.filter(instance=cozy.instance).update(state="done")
    assert cozy.post("/move/exports").status_code == 201


def test_export_requests_take_cozy_stack_options(cozy, queue):
    """cozy-stack's clients send their export options as a JSON:API body: taken (not applied),
    and a malformed one is a clear 400 that queues nothing."""

    def post(body: str):
        return cozy.client.post("/move/exports", data=body, content_type="application/vnd.api+json", **cozy._h())

    for body, detail in (("[1]", "JSON object"), ("{", "not valid JSON"), ('{"data": 3}', '"data" must be an object'),
                         ('{"data": {"attributes": {"parts_size": "big"}}}', '"parts_size" must be a number'),
                         ('{"data": {"attributes": {"with_doctypes": "x"}}}', "must be a list")):  # fmt: skip
        resp = post(body)
        assert resp.status_code == 400, (body, resp.content)
        assert detail in resp.json()["errors"][0]["detail"]
    assert not Export.objects.filter(instance=cozy.instance).exists()
    resp = post(json.dumps({"data": {"attributes": {"parts_size": 10240, "max_age": 3600, "with_doctypes": []}}}))
    assert resp.status_code == 201, resp.content
    assert Export.objects.filter(instance=cozy.instance).count() == 1


def test_expired_exports_are_refused_then_removed(cozy, s3_client, queue, caplog):
    build_tree(cozy, big=10_000)
    export = done_export(cozy, queue)
    path = f"/move/exports/{token_for(export)}"
    assert Client().get(path, HTTP_HOST=cozy.host).status_code == 200
    Export.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    for refused_path in (path, f"{path}/parts/1"):
        refused = Client().get(refused_path, HTTP_HOST=cozy.host)
        assert refused.status_code == 401, refused.content
    for bad in ("/parts/x", "/parts/1", ""):
        assert Client().get(path + bad, HTTP_HOST=cozy.host, HTTP_RANGE="bytes=9999999-").status_code == 401
    assert token_for(export) not in caplog.text  # a refused token is never logged
    assert keys(s3_client, cozy.instance) != []  # refused although its objects remain
    assert remove_expired_exports() == 1
    export.refresh_from_db()
    assert export.state == "expired" and export.cleaned
    assert keys(s3_client, cozy.instance) == []
    assert remove_expired_exports() == 0
    # the sweep is the one the beat schedule runs
    task = settings.CELERY_BEAT_SCHEDULE["remove-expired-exports"]["task"]
    assert task in celery_app.tasks and task == remove_expired_exports.name


def test_a_token_past_its_signed_expiry_is_refused(cozy, queue):
    export = done_export(cozy, queue)
    export.expires_at = timezone.now() - timedelta(seconds=1)
    token = token_for(export)  # signed with an expiry now past, though the row says later
    assert Client().get(f"/move/exports/{token}", HTTP_HOST=cozy.host).status_code == 401
    export.refresh_from_db()
    assert Client().get(f"/move/exports/{token_for(export)}", HTTP_HOST=cozy.host).status_code == 200


def test_instance_deletion_removes_its_exports(cozy, s3_client, queue):
    build_tree(cozy, big=10_000)
    done_export(cozy, queue)
    neighbour, _ = make_instance("stays.localhost", "stan", org="exp")
    kept = done_export(Cozy(neighbour, "", Client()), queue)
    assert keys(s3_client, cozy.instance) != []
    job, _ = open_job(cozy.instance.domain)
    assert run_job(job.pk) == "done"
    assert keys(s3_client, cozy.instance) == []
    assert not Export.objects.filter(instance_id=cozy.instance.pk).exists()
    assert keys(s3_client, neighbour) == [f"exports/{kept.part_name(1)}"]


def test_fsck_reports_export_objects_nothing_keeps(cozy, queue):
    export = done_export(cozy, queue)
    store = exports_store(export)
    store.put("0123abcd/a1/part-1.zip", b"no row")  # an export whose row is gone
    store.put(f"{export.pk}/old/part-1.zip", b"an attempt it dropped")
    report = check_instance(cozy.instance)
    assert sorted(a.object for a in report.anomalies) == ["exports/0123abcd/a1/part-1.zip",
                                                          f"exports/{export.pk}/old/part-1.zip"]
    fixed = check_instance(cozy.instance, Options(fix=True, grace=0))
    assert {a.fix for a in fixed.anomalies} == {"removed"}
    assert check_instance(cozy.instance).anomalies == []
    assert store.exists(export.part_name(1))


def test_storage_failing_mid_part_leaves_a_failed_export_and_nothing_stored(s3_config, settings, s3_client, queue):
    proxy = CuttingProxy(s3_config.host, s3_config.port)
    try:
        settings.COZY_FS_URL = dataclasses.replace(s3_config, host="127.0.0.1", port=proxy.port).to_url()
        instance, token = make_instance("cut.localhost", "carol", org="exp")
        cozy = Cozy(instance, token, Client())
        build_tree(cozy, big=20 * MiB)  # a part of 20 MiB and more: a multipart upload
        export = request_export(instance)
        proxy.cut_after(3 * MiB)  # within the first 8 MiB upload part; reads send little
        assert run_export(export.pk) == "failed"
        assert proxy.cuts >= 1
    finally:
        proxy.close()
    export.refresh_from_db()
    assert (export.state, export.parts) == ("failed", [])
    assert "unavailable" in export.error or "unreachable" in export.error, export.error
    assert org_bucket(instance) not in export.error and instance.db_prefix not in export.error
    assert keys(s3_client, instance) == []
    uploads = s3_client._list_multipart_uploads(org_bucket(instance)).uploads
    assert [u.object_name for u in uploads if u.object_name.startswith(instance.key_prefix)] == []
    assert Client().get(f"/move/exports/{token_for(export)}", HTTP_HOST=instance.domain).json()["data"][
        "attributes"]["state"] == "failed"


def test_a_worker_killed_mid_export_is_taken_over_and_finishes(transactional_db, shared_fs_url, settings, tmp_path,
                                                                queue, s3_client):
    settings.COZY_FS_URL = shared_fs_url
    instance, token = make_instance("killed.localhost", "kim", org="exp")
    cozy = Cozy(instance, token, Client())
    for n in range(16):
        assert cozy.upload(f"f{n:02}.bin", bytes([n]) * 100_000).status_code == 201
    slow = {"COZY_EXPORT_PAUSE_MS": "300", "COZY_EXPORT_STALE_SECONDS": "2", "COZY_EXPORT_PART_SIZE": "250000"}
    first = Worker(shared_fs_url, queue, tmp_path / "first.log", slow).start()
    try:
        export = request_export(instance)
        wait_for(lambda: Export.objects.get(pk=export.pk).files_done >= 7, 60, "two parts stored")
    finally:
        first.kill()
    killed = Export.objects.get(pk=export.pk)
    assert killed.state == "running"
    client = make_client(parse_fs_url(shared_fs_url))
    bucket = org_bucket(instance)
    old = [o.object_name for o in client.list_objects(bucket, prefix=instance.key_prefix + "exports/", recursive=True)]
    assert any(f"/{killed.attempt}/part-" in key for key in old)  # the first attempt had stored parts

    second = Worker(shared_fs_url, queue, tmp_path / "second.log", {"COZY_EXPORT_STALE_SECONDS": "2",
                                                                     "COZY_EXPORT_PART_SIZE": "250000"}).start()
    try:
        wait_for(lambda: Export.objects.get(pk=export.pk).finished, 90, "the export taken over")
    finally:
        second.stop()
    done = Export.objects.get(pk=export.pk)
    assert done.state == "done", second.log()[-3000:]
    assert done.attempt != killed.attempt
    keys_now = sorted(o.object_name.removeprefix(instance.key_prefix) for o in client.list_objects(
        bucket, prefix=instance.key_prefix + "exports/", recursive=True))
    assert keys_now == sorted(f"exports/{done.part_name(p['n'])}" for p in done.parts)
    uploads = client._list_multipart_uploads(bucket).uploads
    assert [u for u in uploads if u.object_name.startswith(instance.key_prefix)] == []
    meta = metadata_of(done)
    assert len([r for r in meta["files"] if r["type"] == "file"]) == 16
    zips = zips_of(done)
    for rec in meta["files"]:
        if rec["type"] == "file":
            assert zips[rec["part"] - 1].read(rec["entry"]) == bytes([int(rec["name"][1:3])]) * 100_000


def test_a_content_deleted_after_the_snapshot_is_left_out_with_its_metadata(cozy):
    tree = build_tree(cozy, big=10_000)
    snapshot = take(cozy.instance)
    assert cozy.delete(f"/files/trash/{tree.ids['trashed']}").status_code == 204  # its object goes now
    writer = PartWriter(snapshot, store_for(cozy.instance, "files"), store_for(cozy.instance, "avatar"),
                        lambda files, nbytes: None)
    data = b"".join(writer.part(1, snapshot.contents, last=True))
    zf = zipfile.ZipFile(io.BytesIO(data))
    meta = json.loads(zf.read("cozy-export.json"))
    ids = {r["id"] for r in meta["files"]}
    assert tree.ids["trashed"] not in ids and tree.ids["big"] in ids
    assert [c.file_id for c in writer.left_out] == [tree.ids["trashed"]]
    assert not [n for n in zf.namelist() if "old ñ" in n]


def test_a_damaged_content_fails_the_export_and_stores_nothing(cozy, s3_client, queue):
    tree = build_tree(cozy, big=10_000)
    node = Node.objects.get(instance=cozy.instance, doc_id=tree.ids["big"])
    store_for(cozy.instance, "files").put(f"{node.doc_id}/{node.content_id}", b"x" * node.size)  # bit rot
    export = request_export(cozy.instance)
    assert run_export(export.pk) == "failed"
    export.refresh_from_db()
    assert "does not match the index" in export.error
    assert keys(s3_client, cozy.instance) == []
