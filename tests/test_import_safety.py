"""Import safety: a killed import resumes without rewriting what it stored, an unfinished one
rolls back to the instance as it was, and a wipe happens only with the final commit, after
the whole archive was stored and checked."""

from __future__ import annotations

import io
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from cozy.exports.models import Export, ImportJob
from cozy.exports.runner import exports_store, run_export
from cozy.exports.services import token_for
from cozy.files.models import Node
from cozy.instances.models import Instance
from cozy.instances.services import org_bucket
from cozy.storage.stores import store_for
from tests.cozyclient import Cozy, make_instance
from tests.exporttree import index_of, part_bytes
from tests.test_deletion import wait_for
from tests.test_imports import assert_same_instance, damaged, make_export, objects
from tests.worker import Worker

pytestmark = pytest.mark.django_db(transaction=True)
SLOW = {"COZY_IMPORT_PAUSE_MS": "300", "COZY_EXPORT_STALE_SECONDS": "2"}


def exported_with_many_files(settings) -> tuple[Cozy, Export]:
    """The export tree plus 16 small files: an import of it takes a few seconds when slowed."""
    source, _ = make_export(settings)
    for n in range(16):
        assert source.upload(f"f{n:02}.bin", os.urandom(50_000)).status_code == 201
    export = Export.objects.create(instance=source.instance, expires_at=timezone.now() + timedelta(days=1))
    assert run_export(export.pk) == "done"
    return source, Export.objects.get(pk=export.pk)


def own_tree(cozy: Cozy) -> None:
    for n in range(3):
        assert cozy.upload(f"mine {n}.txt", f"my own data {n}".encode()).status_code == 201


def stats(s3_client, instance: Instance, names: list[str]) -> dict[str, object]:
    bucket = org_bucket(instance)
    return {n: s3_client.stat_object(bucket, f"{instance.key_prefix}files/{n}").last_modified for n in names}


def post_import(target: Cozy, url: str, **extra) -> dict:
    resp = target.client.post("/move/imports", data=json.dumps({"manifest_url": url, **extra}),
                              content_type="application/json", **target._h())  # fmt: skip
    assert resp.status_code == 202, resp.content
    return resp.json()["data"]


def kill_mid_import(worker: Worker, job_id: int, pieces: int) -> ImportJob:
    try:
        wait_for(lambda: ImportJob.objects.get(pk=job_id).pieces_done >= pieces, 60, "contents stored", worker)
    finally:
        worker.kill()
    job = ImportJob.objects.get(pk=job_id)
    assert job.state == "running" and 0 < job.pieces_done < len(job.contents)
    return job


def test_a_worker_killed_mid_import_is_resumed_without_rewriting(transactional_db, shared_fs_url, settings,
                                                                  tmp_path, queue, s3_client):  # fmt: skip
    settings.COZY_FS_URL = shared_fs_url
    source, export = exported_with_many_files(settings)
    instance, token = make_instance("resumed.localhost", "rita", org="imp")
    target = Cozy(instance, token, Client())
    url = f"https://{source.host}/move/exports/{token_for(export)}"
    first = Worker(shared_fs_url, queue, tmp_path / "first.log", SLOW).start()
    job_id = int(post_import(target, url)["id"])
    killed = kill_mid_import(first, job_id, 5)
    assert Node.objects.filter(instance=instance).count() == 2  # the index is untouched: root and trash
    stored = killed.contents[: killed.pieces_done]
    before = stats(s3_client, instance, stored)

    second = Worker(shared_fs_url, queue, tmp_path / "second.log", {"COZY_EXPORT_STALE_SECONDS": "2"}).start()
    try:  # the starting worker re-queues the job whose worker died
        wait_for(lambda: ImportJob.objects.get(pk=job_id).finished, 90, "the import resumed", second)
    finally:
        second.stop()
    done = ImportJob.objects.get(pk=job_id)
    assert done.state == "done", second.log()[-3000:]
    assert done.sources == []  # the manifest URL (a token) is not kept
    assert_same_instance(source.instance, instance)
    assert stats(s3_client, instance, stored) == before  # stored and verified before the kill: not written again


def test_an_unfinished_wipe_import_rolls_back_to_the_data_as_it_was(transactional_db, shared_fs_url, settings,
                                                                     tmp_path, queue, s3_client):  # fmt: skip
    settings.COZY_FS_URL = shared_fs_url
    source, export = exported_with_many_files(settings)
    instance, token = make_instance("wiped.localhost", "will", org="imp")
    target = Cozy(instance, token, Client())
    own_tree(target)
    index_before, objects_before = index_of(instance), objects(s3_client, instance)
    url = f"https://{source.host}/move/exports/{token_for(export)}"
    worker = Worker(shared_fs_url, queue, tmp_path / "worker.log", SLOW).start()
    data = post_import(target, url, wipe=True)
    assert data["attributes"]["wipe"] is True
    killed = kill_mid_import(worker, int(data["id"]), 3)
    # half-way, the confirmed wipe has not happened: the owner's data is all there
    assert index_of(instance) == index_before
    assert set(objects_before) < set(objects(s3_client, instance))
    rollback = data["links"]["rollback"]
    settings.COZY_EXPORT_STALE_SECONDS = 600  # as if the worker were alive: refused
    assert target.client.post(rollback, **target._h()).status_code == 409
    settings.COZY_EXPORT_STALE_SECONDS = 0
    resp = target.client.post(rollback, **target._h())
    assert resp.status_code == 200, resp.content
    assert resp.json()["data"]["attributes"]["state"] == "rolled_back"
    assert index_of(instance) == index_before
    assert objects(s3_client, instance) == objects_before
    assert target.client.post(rollback, **target._h()).status_code == 409  # once only
    assert ImportJob.objects.get(pk=killed.pk).sources == []

    # a new import is accepted once the other is rolled back; with --wipe it replaces the tree
    call_command("instances", "import", instance.domain, url, "--wipe", "--wait", stdout=io.StringIO())
    assert_same_instance(source.instance, instance)
    kept = {f"files/{name}" for name in ImportJob.objects.filter(instance=instance, state="done").get().contents}
    assert set(objects(s3_client, instance)) == kept | {"avatar"}  # the wiped tree's objects are gone


@pytest.mark.parametrize("case", ["corrupt", "quota"])
def test_a_refused_wipe_import_never_touches_the_data(settings, fs_url, tmp_path, s3_client, case):
    _, export = make_export(settings)
    instance, token = make_instance("kept.localhost", "ken", org="imp", quota=5000 if case == "quota" else None)
    own_tree(Cozy(instance, token, Client()))
    index_before, objects_before = index_of(instance), objects(s3_client, instance)
    paths = []
    for part in export.parts:
        data = part_bytes(export, part["n"])
        if case == "corrupt" and part["size"] == max(p["size"] for p in export.parts):  # the photo's part
            data = damaged(data)
        (path := tmp_path / f"part-{part['n']}.zip").write_bytes(data)
        paths.append(str(path))
    with pytest.raises(CommandError, match="damaged" if case == "corrupt" else "quota"):
        call_command("instances", "import", instance.domain, *paths, "--wipe", stdout=io.StringIO())
    assert index_of(instance) == index_before
    assert objects(s3_client, instance) == objects_before
    assert ImportJob.objects.get(instance=instance).state == "failed"
    with pytest.raises(CommandError, match="not empty"):  # without the confirmation, refused up front
        call_command("instances", "import", instance.domain, *paths, stdout=io.StringIO())
    assert objects(s3_client, instance) == objects_before
    assert Path(paths[0]).exists()


def test_the_command_resumes_and_rolls_back_by_id(settings, fs_url, s3_client):
    source, export = make_export(settings)
    instance, _ = make_instance("cmd.localhost", "cid", org="imp")
    url = f"https://{source.host}/move/exports/{token_for(export)}"
    job = ImportJob.objects.create(instance=instance, sources=[url], remote_any=True, state="stopped")
    with pytest.raises(CommandError, match="unfinished"):
        call_command("instances", "import", instance.domain, url, stdout=io.StringIO())
    out = io.StringIO()
    call_command("instances", "import", instance.domain, "--resume", str(job.pk), stdout=out)
    assert "imported 5 files, 7 contents" in out.getvalue()
    assert_same_instance(source.instance, instance)
    with pytest.raises(CommandError, match="cannot roll back: the import is done"):
        call_command("instances", "import", instance.domain, "--rollback", str(job.pk), stdout=io.StringIO())
    assert all(store_for(instance, "files").exists(name) for name in ImportJob.objects.get(pk=job.pk).contents)


def test_a_stored_part_of_another_size_than_its_manifest_is_refused(settings, fs_url, s3_client):
    source, export = make_export(settings)
    instance, token = make_instance("sized.localhost", "sue", org="imp")
    own_tree(Cozy(instance, token, Client()))
    objects_before = objects(s3_client, instance)
    name = export.part_name(export.parts[0]["n"])
    exports_store(export).put(name, part_bytes(export, 1)[:-10])  # shortened after the export was checked
    url = f"https://{source.host}/move/exports/{token_for(export)}"
    with pytest.raises(CommandError, match="not the size its manifest records"):
        call_command("instances", "import", instance.domain, url, "--wipe", stdout=io.StringIO())
    assert objects(s3_client, instance) == objects_before
