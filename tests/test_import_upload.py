"""Import of an archive uploaded as the request body: it is streamed into the instance's exports
area, checked as a local part is, read by ranged GETs, and removed when it is no longer needed."""

from __future__ import annotations

import zipfile
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from cozy.exports import uploaded
from cozy.exports.area import is_referenced
from cozy.exports.imports import rollback, run_import
from cozy.exports.models import Export, ImportJob
from cozy.exports.runner import run_export
from cozy.files.models import Node
from cozy.instances.models import Instance
from cozy.storage.stores import store_for
from tests.cozyclient import Cozy, make_instance
from tests.exporttree import MiB, build_tree, part_bytes
from tests.test_deletion import wait_for
from tests.test_imports import assert_same_instance, damaged, objects

pytestmark = pytest.mark.django_db(transaction=True)
EMPTY = ["io.cozy.files.root-dir", "io.cozy.files.trash-dir"]


def one_part_export() -> tuple[Cozy, bytes]:
    instance, token = make_instance("alice.localhost", "alice", org="up")
    cozy = Cozy(instance, token, Client())
    build_tree(cozy, big=2 * MiB)
    store_for(instance, "avatar").put("avatar", b"\x89PNG avatar bytes")
    export = Export.objects.create(instance=instance, expires_at=timezone.now() + timedelta(days=1))
    assert run_export(export.pk) == "done"
    export.refresh_from_db()
    assert len(export.parts) == 1
    return cozy, part_bytes(export, 1)


def target(name: str, quota: int | None = None) -> Cozy:
    instance, token = make_instance(f"{name}.localhost", name, org="up", quota=quota)
    return Cozy(instance, token, Client())


def post(who: Cozy, path: str, body: bytes, query: str = ""):
    return who.client.post(path + query, data=body, content_type="application/zip", **who._h())


def stored_uploads(instance: Instance) -> list[str]:
    return [o.name for o in uploaded.area(instance).list(uploaded.FOLDER)]


def finished(who: Cozy, job_url: str) -> bool:
    return who.get(job_url).json()["data"]["attributes"]["state"] in ("done", "failed", "stopped")


def test_an_uploaded_archive_is_prechecked_then_imported_and_removed(celery_worker, settings, s3_client):
    settings.COZY_EXPORT_PART_SIZE = 64 * MiB  # one part
    source, archive = one_part_export()
    bob = target("bob")
    assert post(bob, "/move/imports/precheck", archive).status_code == 204
    assert stored_uploads(bob.instance) == []
    assert post(source, "/move/imports/precheck", archive).status_code == 409  # not empty
    assert post(source, "/move/imports/precheck", archive, "?wipe=true").status_code == 204
    assert post(bob, "/move/imports/precheck", archive, "?wipe=maybe").status_code == 400
    small = target("frank", quota=1000)
    for path in ("/move/imports/precheck", "/move/imports"):
        refused = post(small, path, archive)  # refused on its Content-Length
        assert refused.status_code == 413, refused.content
        assert "quota" in refused.json()["errors"][0]["detail"]
    assert objects(s3_client, small.instance) == [] and objects(s3_client, bob.instance) == []

    resp = post(bob, "/move/imports", archive)
    assert resp.status_code == 202, resp.content
    job_url = resp.json()["data"]["links"]["self"]
    wait_for(lambda: finished(bob, job_url), 60, "the import", celery_worker)
    attrs = bob.get(job_url).json()["data"]["attributes"]
    assert attrs["state"] == "done", (attrs, celery_worker.log()[-3000:])
    assert_same_instance(source.instance, bob.instance)
    assert stored_uploads(bob.instance) == []  # removed once the job is done
    assert ImportJob.objects.get(instance=bob.instance).sources == []


@pytest.mark.parametrize("case", ["not-a-zip", "truncated"])
def test_an_unreadable_uploaded_archive_is_refused_and_not_kept(fs_url, settings, s3_client, case):
    settings.COZY_EXPORT_PART_SIZE = 64 * MiB
    _, archive = one_part_export()
    carol = target("carol")
    body = b"not a zip" * 1000 if case == "not-a-zip" else archive[: len(archive) // 2]
    for path in ("/move/imports/precheck", "/move/imports"):
        resp = post(carol, path, body)
        assert resp.status_code == 412, resp.content
        assert resp.json()["errors"][0]["title"] == "Precondition Failed"
    assert objects(s3_client, carol.instance) == []
    assert not ImportJob.objects.filter(instance=carol.instance).exists()


def test_a_corrupt_uploaded_archive_fails_its_job_and_is_removed(fs_url, settings, s3_client, queue):
    settings.COZY_EXPORT_PART_SIZE = 64 * MiB
    _, archive = one_part_export()
    dave = target("dave")
    resp = post(dave, "/move/imports", damaged(archive))
    assert resp.status_code == 202, resp.content  # zip structure intact: the damage shows as it is written
    job = ImportJob.objects.get(instance=dave.instance)
    assert len(stored_uploads(dave.instance)) == 1  # held by the queued job
    assert run_import(job.pk) == "failed"
    assert "damaged" in ImportJob.objects.get(pk=job.pk).error
    assert objects(s3_client, dave.instance) == []
    assert sorted(Node.objects.filter(instance=dave.instance).values_list("doc_id", flat=True)) == EMPTY


def test_an_unfinished_import_keeps_its_archive_from_fsck_until_rolled_back(fs_url, settings, queue):
    settings.COZY_EXPORT_PART_SIZE = 64 * MiB
    _, archive = one_part_export()
    erin = target("erin")
    resp = post(erin, "/move/imports", archive)
    assert resp.status_code == 202, resp.content
    job = ImportJob.objects.get(instance=erin.instance)
    [name] = stored_uploads(erin.instance)
    assert post(erin, "/move/imports", archive).status_code == 409  # one at a time: refused before the body
    assert stored_uploads(erin.instance) == [name]
    assert uploaded.held(erin.instance) == {name}
    with zipfile.ZipFile(uploaded.area(erin.instance).open(name)) as zf:  # the bytes sent, stored
        assert zf.testzip() is None
    assert is_referenced(erin.instance, name)
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.STOPPED)
    assert is_referenced(erin.instance, name)  # a stopped job resumes from it
    rollback(job)
    assert stored_uploads(erin.instance) == []
    assert not is_referenced(erin.instance, name)
