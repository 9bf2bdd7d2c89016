"""fsck and an unfinished import: the objects it wrote before its index commit are held, not orphans.

Real SeaweedFS; the import is stopped half-way in-process (its progress callback raises, as a
storage error would), which leaves the job ``stopped`` as a killed worker's would be once stale.
"""

from __future__ import annotations

import pytest

from cozy.exports.imports import rollback, run_import
from cozy.exports.models import ImportJob
from cozy.exports.services import token_for
from cozy.instances.models import Instance
from cozy.storage.stores import store_for
from tests.cozyclient import make_instance
from tests.test_fsck import fsck
from tests.test_import_safety import stats
from tests.test_imports import assert_same_instance, make_export

pytestmark = pytest.mark.django_db(transaction=True)


class Stop(Exception):
    pass


def stop_after(pieces: int):
    seen = []

    def watch(done: int, total: int) -> None:
        seen.append(done)
        if len(seen) == pieces:
            raise Stop("stopped by the test")

    return watch


def stopped_import(settings, domain: str, pieces: int) -> tuple[Instance, ImportJob, object]:
    source, export = make_export(settings)
    instance, _ = make_instance(domain, domain.split(".")[0], org="imp")
    url = f"https://{source.host}/move/exports/{token_for(export)}"
    job = ImportJob.objects.create(instance=instance, sources=[url], remote_any=True)
    assert run_import(job.pk, watch=stop_after(pieces)) == "stopped"
    job.refresh_from_db()
    assert job.pieces_done == pieces < len(job.contents)
    return instance, job, source


def test_fsck_fix_keeps_a_stopped_imports_objects_and_the_resume_reuses_them(settings, fs_url, s3_client):
    instance, job, source = stopped_import(settings, "held.localhost", 3)
    stored = job.contents[: job.pieces_done]
    before = stats(s3_client, instance, stored)
    settings.COZY_FSCK_ORPHAN_GRACE = 0

    code, lines, _ = fsck(instance.domain, "--fix")
    assert code == 1
    assert sorted(a["object"] for a in lines) == sorted(f"files/{name}" for name in stored)
    assert {(a["type"], a["detail"]) for a in lines} == {("content_held", "an unfinished import")}
    assert all(a["fix"].startswith("kept: an unfinished import holds it") for a in lines)
    assert stats(s3_client, instance, stored) == before  # still listed, same objects

    assert run_import(job.pk) == "done"
    assert_same_instance(source.instance, instance)
    assert stats(s3_client, instance, stored) == before  # not written again
    code, lines, _ = fsck(instance.domain, "--fix")  # done: every object is the index's
    assert (code, lines) == (0, [])


def test_after_a_rollback_a_left_object_is_an_orphan_again(settings, fs_url, s3_client):
    instance, job, _ = stopped_import(settings, "rolled.localhost", 2)
    assert rollback(job).state == "rolled_back"
    left = job.contents[0]
    store_for(instance, "files").put(left, b"left behind")  # as if its removal had been missed
    settings.COZY_FSCK_ORPHAN_GRACE = 0

    code, lines, _ = fsck(instance.domain, "--fix")
    assert code == 1
    assert [(a["type"], a["object"], a["fix"]) for a in lines] == [("index_missing", f"files/{left}", "removed")]
    assert not store_for(instance, "files").exists(left)
