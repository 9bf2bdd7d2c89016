"""A new kind of stored data is one registration: deletion and fsck handle a throwaway area
(of each instance, or a system area shared by instances) without any edit to those apps."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pytest

from cozy.deletion.models import DeletionJob
from cozy.deletion.runner import run_job
from cozy.deletion.services import open_job
from cozy.fsck.anomalies import Anomaly
from cozy.fsck.context import CheckContext, SystemContext, orphan
from cozy.fsck.fixer import Fixer
from cozy.fsck.runner import SYSTEM, Options, check_instance, check_system
from cozy.instances.models import Instance
from cozy.instances.services import org_bucket
from cozy.storage import areas
from cozy.storage.buckets import ensure_system_buckets
from cozy.storage.stores import store_for, system_store
from s3util import naming
from tests.cozyclient import make_instance

pytestmark = pytest.mark.django_db(transaction=True)
NOTES_INDEX: dict[str, set[str]] = {}  # db_prefix -> note names: the area's "index"


def check_notes(ctx: CheckContext, listed: Iterable) -> Iterator[Anomaly]:
    known = NOTES_INDEX.get(ctx.instance.db_prefix, set())
    seen = set()
    for obj in listed:
        seen.add(obj.name)
        if obj.name not in known:
            yield orphan(ctx.rel(obj.name), obj)
    for name in sorted(known - seen):
        yield Anomaly("note_missing", object=ctx.rel(name))


def repair_missing(fixer, anomaly: Anomaly) -> str:
    NOTES_INDEX[fixer.instance.db_prefix].discard(anomaly.object.removeprefix("notes/"))
    return "forgotten"


NOTES = areas.Area(
    "notes", "notes/", check=check_notes, repairs={"note_missing": repair_missing},
    referenced=lambda instance, name: name in NOTES_INDEX.get(instance.db_prefix, set()),
    forget=lambda instance: NOTES_INDEX.pop(instance.db_prefix, None),
    totals=lambda instance: (len(NOTES_INDEX.get(instance.db_prefix, ())), 0),
)  # fmt: skip


@pytest.fixture
def notes_area():
    areas.register(NOTES)
    yield NOTES
    areas.unregister("notes")
    NOTES_INDEX.clear()


SHARED_INDEX: set[str] = set()  # the throwaway system area's "index"


def check_shared(ctx: SystemContext, listed: Iterable) -> Iterator[Anomaly]:
    seen = set()
    ctx.counters.entries += len(SHARED_INDEX)
    for obj in listed:
        seen.add(obj.name)
        if obj.name not in SHARED_INDEX:
            yield orphan(ctx.rel(obj.name), obj)
    for name in sorted(SHARED_INDEX - seen):
        yield Anomaly("shared_missing", object=name)


@pytest.fixture
def shared_area(monkeypatch):
    monkeypatch.setattr(naming, "RESERVED_KINDS", (*naming.RESERVED_KINDS, "shared"))
    area = areas.register(areas.Area("shared", "shared", system=True, check=check_shared,
                                     referenced=lambda instance, name: name in SHARED_INDEX))
    yield area
    areas.unregister("shared")
    SHARED_INDEX.clear()


def test_fsck_checks_and_fixes_a_registered_system_area(fs_url, shared_area):
    ensure_system_buckets()
    store = system_store(shared_area)
    for name in ("kept/a", "stray/b"):
        store.put(name, b"shared " + name.encode())
    SHARED_INDEX.update({"kept/a", "gone/c"})
    report = check_system()
    assert report.domain == SYSTEM and (report.objects, report.entries) == (2, 2)
    mine = [(a.area, a.type, a.object) for a in report.anomalies if a.area == "shared"]
    assert mine == [("shared", "index_missing", "stray/b"), ("shared", "shared_missing", "gone/c")]
    fixed = check_system(Options(fix=True, grace=0), names=["shared"])
    assert [a.fix for a in fixed.anomalies] == ["removed", "not fixed: needs an operator"]
    assert sorted(o.name for o in store.list()) == ["kept/a"]
    SHARED_INDEX.add("late/d")  # an object its index takes between the check and the fix is kept
    store.put("late/d", b"late")
    old = {"last_modified": "2000-01-01T00:00:00+00:00"}
    late = Anomaly("index_missing", object="late/d", area="shared", extra=old)
    Fixer(None, grace=0).fix(late)
    assert late.fix == "kept: the index references it now"


def keys(s3_client, instance: Instance) -> list[str]:
    listed = s3_client.list_objects(org_bucket(instance), prefix=instance.key_prefix, recursive=True)
    return sorted(o.object_name.removeprefix(instance.key_prefix) for o in listed)


def test_fsck_checks_and_repairs_a_registered_area(fs_url, s3_client, notes_area):
    instance, _ = make_instance("notes.localhost", "nora")
    store = store_for(instance, "notes")
    for name in ("a", "b"):
        store.put(name, b"note " + name.encode())
    NOTES_INDEX[instance.db_prefix] = {"a", "gone"}
    report = check_instance(instance)
    found = sorted((a.type, a.object, a.detail) for a in report.anomalies)
    assert found == [("index_missing", "notes/b", ""), ("note_missing", "notes/gone", "")]
    assert report.objects == 2
    fixed = check_instance(instance, Options(fix=True, grace=0))
    assert sorted(a.fix for a in fixed.anomalies) == ["forgotten", "removed"]
    assert check_instance(instance).anomalies == []
    assert keys(s3_client, instance) == ["notes/a"]
    areas.unregister("notes")  # unregistered, its objects are keys that no area claims
    assert [(a.type, a.detail) for a in check_instance(instance).anomalies] == [("index_missing", "unexpected key")]


def test_deletion_forgets_and_empties_a_registered_area(fs_url, s3_client, notes_area):
    instance, _ = make_instance("gone.localhost", "gina")
    neighbour, _ = make_instance("stays.localhost", "stan")
    for inst in (instance, neighbour):
        store_for(inst, "notes").put("n1", b"12345")
        NOTES_INDEX[inst.db_prefix] = {"n1"}
    job, _ = open_job(instance.domain)
    assert job.expected_objects == 1
    assert run_job(job.pk) == DeletionJob.State.DONE
    assert instance.db_prefix not in NOTES_INDEX and neighbour.db_prefix in NOTES_INDEX
    assert keys(s3_client, instance) == []
    assert keys(s3_client, neighbour) == ["notes/n1"]


@pytest.mark.parametrize("path", ["", "../x", "a/b/", "/abs", "UPPER/", "a" * 50])
def test_an_area_path_must_stay_one_plain_name(path):
    with pytest.raises(ValueError, match="invalid path"):
        areas.Area("bad", path)


def test_two_areas_cannot_share_a_path(notes_area):
    with pytest.raises(ValueError, match="share a path"):
        areas.register(areas.Area("other", "notes/"))
    assert areas.get("notes") is NOTES
