"""Apps around the platform: the command, fsck of the release areas, instance deletion."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from cozy.apps import gc
from cozy.apps.management.commands.apps import slug_of
from cozy.apps.models import Installation, Kind, Release
from cozy.apps.releases import store_of
from cozy.deletion.models import DeletionJob
from cozy.deletion.runner import run_job
from cozy.deletion.services import open_job
from cozy.fsck.models import FsckRun
from cozy.fsck.tasks import fsck_all
from cozy.storage.areas import system_areas
from cozy.storage.buckets import ensure_system_buckets
from cozy.storage.stores import system_store
from tests.apptars import webapp_tar
from tests.cozyclient import make_instance

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def buckets(fs_url):
    ensure_system_buckets()
    return fs_url


def wait_for(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def run(*args) -> str:
    out = StringIO()
    call_command("apps", *args, stdout=out)
    return out.getvalue()


def test_command_install_update_list_uninstall(buckets, tmp_path):
    make_instance("carol.localhost", "carol")
    v1, v2 = webapp_tar(tmp_path / "drive-1.0.0.tar.gz"), webapp_tar(tmp_path / "v2.tar.gz", version="2.0.0")
    assert run("install", "carol.localhost", f"file://{v1}").startswith("installed drive 1.0.0 (4 files")
    with pytest.raises(CommandError, match="already installed"):
        run("install", "carol.localhost", f"file://{v1}")
    assert "updated drive 2.0.0" in run("update", "carol.localhost", "drive", f"file://{v2}")
    listed = [json.loads(line) for line in run("list", "carol.localhost").splitlines()]
    assert listed == [{"kind": "webapp", "slug": "drive", "state": "ready", "source": f"file://{v2}",
                       "version": "2.0.0", "error": None}]
    assert run("uninstall", "carol.localhost", "drive") == "uninstalled drive\n"
    assert run("list", "carol.localhost") == ""
    assert run("gc", "--grace", "0") == "2 release(s) collected\n"
    assert list(store_of(Kind.WEB).list()) == []
    with pytest.raises(CommandError, match="must be file"):
        run("install", "carol.localhost", "ftp://x/y.tar.gz")


def test_slug_of_a_source():
    assert slug_of("https://x/apps/cozy-drive-1.2.0.tar.gz#sha256=ab") == "cozy-drive"
    assert slug_of("file:///tmp/banks.tgz") == "banks"
    assert slug_of("registry://cozy-drive/stable") == "cozy-drive"
    assert slug_of("git+https://example.org/cozy/drive.git#v1.0.0") == "drive"


def fsck(*args: str) -> tuple[int, list[dict]]:
    """The platform's ``manage.py fsck`` with JSON lines: (exit status, lines)."""
    out = StringIO()
    try:
        call_command("fsck", "--json", *args, stdout=out)
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code)
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


def test_fsck_of_release_areas(buckets, tmp_path):
    instance = make_instance("fsck.localhost", "frank")[0]
    call_command("apps", "install", "fsck.localhost", f"file://{webapp_tar(tmp_path / 'drive.tar.gz')}",
                 stdout=StringIO())
    release = Release.objects.get()
    store = store_of(Kind.WEB)
    store.put("drive/nosuchrelease/x.js", b"stray")
    store.delete(release.name("icon.png"))
    code, lines = fsck("--system")
    found = sorted((x["domain"], x["area"], x["type"], x["object"]) for x in lines if "type" in x)
    assert code == 1 and found == [("@system", "apps-web", "filesystem_missing", release.name("icon.png")),
                                   ("@system", "apps-web", "index_missing", "drive/nosuchrelease/x.js")]
    assert lines[-1]["summary"]["objects"] == 4 and lines[-1]["summary"]["entries"] == 4  # 3 listed, 1 stray
    assert [x["domain"] for x in fsck("--all")[1] if "summary" in x] == ["fsck.localhost", "@system"]
    _, kept = fsck("--system", "--fix")  # the default grace (a day): an install may own the stray object
    assert next(x["fix"] for x in kept if x.get("type") == "index_missing").startswith("kept: younger")
    with override_settings(COZY_FSCK_ORPHAN_GRACE=0):
        _, fixed = fsck("--system", "--fix")
    assert sorted(x["fix"] for x in fixed if "type" in x) == ["not fixed: needs an operator", "removed"]
    assert [x["type"] for x in fsck("--system")[1] if "type" in x] == ["filesystem_missing"]
    assert "drive/nosuchrelease/x.js" not in [o.name for o in store.list()]
    assert Installation.objects.filter(instance=instance).count() == 1
    out = StringIO()  # ``apps fsck`` runs the same check
    with pytest.raises(SystemExit):
        call_command("apps", "fsck", stdout=out)
    assert [json.loads(x)["type"] for x in out.getvalue().splitlines()] == ["filesystem_missing"]


def test_fsck_of_release_areas_on_celery(celery_worker, shared_fs_url, tmp_path):
    ensure_system_buckets()
    # The worker's storage is the session's: earlier worker tests left releases whose rows are gone.
    for area in system_areas():
        store = system_store(area)
        store.delete_many([o.name for o in store.list()])
    make_instance("queued.localhost", "quinn")
    call_command("apps", "install", "queued.localhost", f"file://{webapp_tar(tmp_path / 'drive.tar.gz')}",
                 stdout=StringIO())
    store_of(Kind.WEB).put("drive/nosuchrelease/x.js", b"stray")
    code, lines = fsck("--system", "--queue")
    assert code == 1 and [(x["type"], x["object"]) for x in lines if "type" in x] == [
        ("index_missing", "drive/nosuchrelease/x.js")]
    assert FsckRun.objects.get(instance=None).state == FsckRun.State.DONE
    fsck_all.delay()
    wait_for(lambda: FsckRun.objects.filter(instance=None, state=FsckRun.State.DONE).count() == 2, 60)
    report = FsckRun.objects.filter(instance=None).latest("pk").report
    assert [(a["area"], a["type"]) for a in report["anomalies"]] == [("apps-web", "index_missing")]


def test_instance_deletion_uninstalls_and_shared_releases_stay(buckets, tmp_path):
    gone, _ = make_instance("gone.localhost", "gina")
    make_instance("stays.localhost", "stan")
    shared = webapp_tar(tmp_path / "drive.tar.gz")
    own = webapp_tar(tmp_path / "photos.tar.gz", slug="photos")
    for domain in ("gone.localhost", "stays.localhost"):
        run("install", domain, f"file://{shared}")
    run("install", "gone.localhost", f"file://{own}")
    job, _ = open_job(gone.domain)
    assert run_job(job.pk) == DeletionJob.State.DONE
    assert list(Installation.objects.values_list("instance__domain", "slug")) == [("stays.localhost", "drive")]
    photos = str(Release.objects.get(slug="photos"))
    assert gc.collect(timedelta(0)) == [photos]
    assert {o.name.split("/")[0] for o in store_of(Kind.WEB).list()} == {"drive"}
    assert Release.objects.get().slug == "drive"
