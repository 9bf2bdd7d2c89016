"""Instance deletion end to end: a real Celery worker on the real broker, real SeaweedFS, real database.

The worker-killing and outage tests slow the job down with the worker's
environment (small pages, a pause after each page) so that they catch it
mid-way deterministically.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from minio import Minio
from minio.error import S3Error

from cozy.deletion import config
from cozy.deletion.models import DeletionJob
from cozy.deletion.runner import run_job
from cozy.deletion.services import open_job, request_deletion
from cozy.deletion.sweeper import sweep
from cozy.files.models import Node, Version
from cozy.instances.models import Instance, Token
from cozy.instances.services import org_bucket
from cozy.storage.buckets import ensure_system_buckets
from s3util import make_client, parse_fs_url
from s3util.seaweedfs import SeaweedFS
from tests import s3servers
from tests.cozyclient import Cozy, make_instance
from tests.worker import Worker
from vfs_s3.connection import current_client
from vfs_s3.storage import S3Storage

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.s3contract]

# A worker slow enough to be caught mid-job: pages of 20 keys, one at a time, 150 ms apart.
SLOW = {
    "COZY_DELETION_PAGE_SIZE": "20",
    "COZY_DELETION_PARALLEL": "1",
    "COZY_DELETION_PAUSE_MS": "150",
    "COZY_DELETION_LEASE_SECONDS": "5",
    "COZY_DELETION_RETRY_BACKOFF": "0.5",
    "COZY_DELETION_RETRY_BACKOFF_MAX": "2",
}
FAST = {"COZY_DELETION_LEASE_SECONDS": "5", "COZY_DELETION_RETRY_BACKOFF": "0.5"}


# -- helpers ----------------------------------------------------------------------
def wait_for(check: Callable[[], bool], timeout: float, what: str, worker: Worker | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            tail = worker.log()[-3000:] if worker else ""
            raise AssertionError(f"timed out waiting for {what}\n{tail}")
        time.sleep(0.1)


def job_of(domain: str) -> DeletionJob:
    return DeletionJob.objects.filter(domain=domain).latest("id")


def instance_with_prefix(domain: str, db_prefix: str, org: str) -> Cozy:
    """An instance whose db_prefix is chosen by the test (neighbours sharing a textual start)."""
    instance, token = make_instance(domain, domain.split(".")[0], org=org)
    Instance.objects.filter(pk=instance.pk).update(db_prefix=db_prefix)
    instance.refresh_from_db()
    return Cozy(instance, token, Client())


def put_many(client: Minio, bucket: str, keys: list[str], size: int = 64) -> None:
    """Tiny objects, in parallel: the bulk of an instance for the slow-job tests."""

    def put(key: str) -> None:
        data = hashlib.sha256(key.encode()).digest() * (size // 32)
        client.put_object(bucket, key, io.BytesIO(data), len(data))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, keys))


def snapshot(client: Minio, buckets: list[str], skip_prefix: str = "") -> dict[tuple[str, str], str]:
    """(bucket, key) -> MD5 of the bytes, for every object outside ``skip_prefix``."""
    found = {}
    for bucket in buckets:
        if not client.bucket_exists(bucket):
            continue
        for obj in client.list_objects(bucket, recursive=True):
            if skip_prefix and obj.object_name.startswith(skip_prefix):
                continue
            response = client.get_object(bucket, obj.object_name)
            try:
                found[(bucket, obj.object_name)] = hashlib.md5(response.read()).hexdigest()
            finally:
                response.close()
                response.release_conn()
    return found


def keys_under(client: Minio, buckets: list[str], prefix: str) -> list[str]:
    keys = []
    for bucket in buckets:
        if client.bucket_exists(bucket):
            keys += [o.object_name for o in client.list_objects(bucket, prefix=prefix, recursive=True)]
    return keys


def buckets_of(instance: Instance) -> list[str]:
    return [org_bucket(instance)]




@contextmanager
def running(worker: Worker) -> Iterator[Worker]:
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


# -- the command, through a real worker; neighbours untouched ------------------------
def test_destroy_command_deletes_everything_and_spares_neighbours(celery_worker, shared_fs_url, monkeypatch):
    ensure_system_buckets()
    base = "d" + secrets.token_hex(4)
    victim = instance_with_prefix("victim.localhost", base, "acme")
    near = instance_with_prefix("near.localhost", base + "1", "acme")  # "<base>1/" starts like "<base>"
    under = instance_with_prefix("under.localhost", base + "_", "acme")
    client = make_client(parse_fs_url(shared_fs_url))
    buckets = buckets_of(victim.instance)
    (org,) = buckets  # previews and exports live in the org bucket too

    for cozy in (victim, near, under):
        for n in range(3):
            assert cozy.upload(f"f{n}.txt", f"{cozy.host} file {n}\n".encode() * (n + 1)).status_code == 201
        file_id = cozy.upload("versioned", b"v1").json()["data"]["id"]
        assert cozy.put(file_id, b"version two").status_code == 200
        put_many(client, org, [f"{cozy.instance.key_prefix}previews/p-{n}" for n in range(3)])
        put_many(client, org, [f"{cozy.instance.key_prefix}exports/e1/part-0.zip"])
    put_many(client, org, [f"{base}/thumbs/x/y-small", f"{base}/avatar"])
    client._create_multipart_upload(org, f"{base}/files/unfinished/part", {})  # hidden bytes, aborted too
    put_many(client, org, [f"{base}", f"{base}1", f"{base}.txt"])  # keys that share the start, no slash

    prefix = victim.instance.key_prefix
    neighbours = snapshot(client, buckets, skip_prefix=prefix)
    victim_objects = [o for b in buckets for o in client.list_objects(b, prefix=prefix, recursive=True)]
    assert len(victim_objects) == 4 + 1 + 3 + 1 + 2  # 4 files and a version, previews, export, thumb+avatar
    near_rows = Node.objects.filter(instance=near.instance).count()

    # Asked to confirm, a wrong answer deletes nothing.
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="not confirmed"):
        call_command("instances", "destroy", victim.host, stdout=io.StringIO())
    assert Instance.objects.get(pk=victim.instance.pk).state == "ready"
    assert not DeletionJob.objects.exists()

    out = io.StringIO()
    call_command("instances", "destroy", victim.host, "--yes", "--wait", stdout=out)
    text = out.getvalue()
    assert f"deletion of {victim.host} queued" in text
    assert f"deleted {victim.host}: {len(victim_objects)} objects" in text
    assert base not in text and org not in text

    job = job_of(victim.host)
    assert (job.state, job.phase, job.last_error) == ("done", "done", "")
    assert job.objects_deleted == len(victim_objects)
    assert job.bytes_freed == sum(o.size for o in victim_objects)
    assert keys_under(client, buckets, prefix) == []
    assert [u for u in client._list_multipart_uploads(org).uploads if u.object_name.startswith(prefix)] == []
    assert snapshot(client, buckets) == neighbours  # byte-identical neighbours, nothing added or lost
    assert not Instance.objects.filter(pk=victim.instance.pk).exists()
    assert not Token.objects.filter(instance_id=victim.instance.pk).exists()
    assert not Node.objects.filter(instance_id=victim.instance.pk).exists()
    assert not Version.objects.filter(file__instance_id=victim.instance.pk).exists()
    assert Node.objects.filter(instance=near.instance).count() == near_rows
    assert f"deleted instance {victim.host} (job {job.pk}): {len(victim_objects)} objects" in celery_worker.log()

    # Clear messages for an already deleted or unknown domain.
    with pytest.raises(CommandError, match=r"already deleted .*job"):
        call_command("instances", "destroy", victim.host, "--yes", stdout=io.StringIO())
    with pytest.raises(CommandError, match=r"no instance with domain 'nobody\.localhost'"):
        call_command("instances", "destroy", "nobody.localhost", "--yes", stdout=io.StringIO())

    # A late duplicate message is harmless.
    from cozy.deletion.tasks import delete_instance

    def runs() -> int:
        return celery_worker.log().count("succeeded in")

    before = runs()
    delete_instance.delay(job.pk)
    wait_for(lambda: runs() > before, 20, "the duplicate message", celery_worker)
    assert snapshot(client, buckets) == neighbours
    assert DeletionJob.objects.get(pk=job.pk).objects_deleted == len(victim_objects)
    assert near.get(f"/files/download/{near.upload('still.txt', b'ok').json()['data']['id']}").status_code == 200


# -- a worker killed mid-job; the instance refuses work meanwhile ---------------------------
def test_worker_killed_mid_deletion_then_job_completes(shared_fs_url, settings, queue, tmp_path):
    settings.COZY_FS_URL = shared_fs_url
    cozy = instance_with_prefix("killed.localhost", "k" + secrets.token_hex(4), "kills")
    neighbour = instance_with_prefix("alive.localhost", cozy.instance.db_prefix + "0", "kills")
    client = make_client(parse_fs_url(shared_fs_url))
    bucket = org_bucket(cozy.instance)
    assert cozy.upload("indexed.txt", b"in the index").status_code == 201
    prefix = cozy.instance.key_prefix
    put_many(client, bucket, [f"{prefix}files/bulk{n:04d}/c" for n in range(400)])
    put_many(client, bucket, [f"{neighbour.instance.key_prefix}files/n{n}/c" for n in range(20)])
    neighbours = snapshot(client, [bucket], skip_prefix=prefix)
    total = 401

    first = Worker(shared_fs_url, queue, tmp_path / "first.log", extra_env=SLOW)
    with running(first):
        job, _ = request_deletion(cozy.host, requested_by="test")
        wait_for(lambda: DeletionJob.objects.get(pk=job.pk).objects_deleted >= 40, 60, "some progress", first)

        # Deleting: the API and the Drive page refuse, and nothing can be written.
        assert cozy.get("/files/io.cozy.files.root-dir").status_code == 410
        assert cozy.upload("late.txt", b"too late").status_code == 410
        browser = Client()
        browser.force_login(cozy.instance.owner)
        page = browser.get("/drive/", HTTP_HOST=cozy.host)
        assert page.status_code == 410 and b"being deleted" in page.content
        first.kill()

    left = keys_under(client, [bucket], prefix)
    assert 0 < len(left) < total, "the kill did not land mid-job"
    assert not any("late.txt" in k for k in left)
    killed = DeletionJob.objects.get(pk=job.pk)
    assert killed.state == "running" and 0 < killed.objects_deleted < total

    with running(Worker(shared_fs_url, queue, tmp_path / "second.log", extra_env=FAST)) as second:
        wait_for(lambda: DeletionJob.objects.get(pk=job.pk).state == "done", 90, "the job to finish", second)
    done = DeletionJob.objects.get(pk=job.pk)
    assert done.attempts >= 2
    # Keys deleted but not yet counted when the worker died are not counted again.
    assert killed.objects_deleted <= done.objects_deleted <= total
    assert keys_under(client, [bucket], prefix) == []
    assert snapshot(client, [bucket]) == neighbours
    assert not Instance.objects.filter(domain=cozy.host).exists()


# -- the object store goes away mid-job, then comes back ---------------------------------
@pytest.mark.skipif(s3servers.server_kind() != "seaweedfs", reason="runs its own SeaweedFS: once, in the default stage")
def test_s3_outage_mid_deletion_then_job_completes(settings, queue, tmp_path):
    server = SeaweedFS(data_dir=tmp_path / "weed", keep_ports=True).start()
    try:
        fs_url = server.config(bucket_prefix="o" + secrets.token_hex(4)).to_url()
        settings.COZY_FS_URL = fs_url
        cozy = instance_with_prefix("outage.localhost", "o" + secrets.token_hex(4), "")
        neighbour = instance_with_prefix("neighbour.localhost", cozy.instance.db_prefix + "x", "")
        client = make_client(parse_fs_url(fs_url))
        bucket = org_bucket(cozy.instance)
        prefix = cozy.instance.key_prefix
        put_many(client, bucket, [f"{prefix}files/b{n:04d}/c" for n in range(300)])
        put_many(client, bucket, [f"{neighbour.instance.key_prefix}files/n{n}/c" for n in range(20)])
        neighbours = snapshot(client, [bucket], skip_prefix=prefix)

        worker = Worker(fs_url, queue, tmp_path / "worker.log", extra_env=SLOW)
        with running(worker):
            job, _ = request_deletion(cozy.host)
            wait_for(lambda: DeletionJob.objects.get(pk=job.pk).objects_deleted >= 40, 60, "some progress", worker)
            server.stop()
            wait_for(lambda: DeletionJob.objects.get(pk=job.pk).last_error != "", 60, "the outage noticed", worker)
            during = DeletionJob.objects.get(pk=job.pk)
            assert during.state == "running" and during.objects_deleted < 300
            time.sleep(3)  # a few retries against the dead endpoint
            server.start()
            wait_for(lambda: DeletionJob.objects.get(pk=job.pk).state == "done", 90, "the job to finish", worker)
        done = DeletionJob.objects.get(pk=job.pk)
        assert done.attempts >= 2 and done.last_error == ""
        assert keys_under(client, [bucket], prefix) == []
        assert snapshot(client, [bucket]) == neighbours
        log = worker.log()
        assert "Retry in" in log
        for secret in (bucket, prefix, server.secret_key, server.access_key):
            assert secret not in during.last_error and secret not in log
    finally:
        server.stop()


# -- the admin action ------------------------------------------------------------------
def test_admin_action_is_staff_only_and_queues_the_job(celery_worker, shared_fs_url):
    cozy = instance_with_prefix("admin-victim.localhost", "a" + secrets.token_hex(4), "")
    assert cozy.upload("a.txt", b"bytes").status_code == 201
    form = {"action": "destroy_instances", "_selected_action": [str(cozy.instance.pk)]}
    url = "/admin/instances/instance/"
    users = get_user_model().objects

    for user in (users.create_user("plain"), users.create_user("staff-no-perm", is_staff=True)):
        browser = Client()
        browser.force_login(user)
        response = browser.post(url, form)
        assert response.status_code in (302, 403)
        assert Instance.objects.get(pk=cozy.instance.pk).state == "ready"
        assert not DeletionJob.objects.exists()

    admin = Client()
    admin.force_login(users.create_superuser("boss", "boss@example.org", "pw-" + secrets.token_hex(8)))
    asked = admin.post(url, form)  # first a page that says what will go
    assert asked.status_code == 200 and not DeletionJob.objects.exists()
    assert asked.context["rows"] == [{"domain": cozy.host, "owner": cozy.instance.owner, "objects": 1, "bytes": 5}]
    assert b'name="confirm" value="yes"' in asked.content
    response = admin.post(url, {**form, "confirm": "yes"}, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert shown == [f"deletion of {cozy.host} queued (job {job_of(cozy.host).pk})"]
    wait_for(lambda: job_of(cozy.host).state == "done", 60, "the job to finish", celery_worker)
    client = make_client(parse_fs_url(shared_fs_url))
    assert keys_under(client, [org_bucket(cozy.instance)], cozy.instance.key_prefix) == []
    assert job_of(cozy.host).requested_by == "admin: boss"
    assert b"admin-victim.localhost" in admin.get("/admin/deletion/deletionjob/").content


# -- in-process: pages, registered areas, a second run ---------------------------------------
def test_sweep_sends_pages_of_at_most_the_page_size(fs_url, s3_client, s3_config, settings):
    bucket = f"{s3_config.bucket_prefix}-pages"
    s3_client.make_bucket(bucket)
    put_many(s3_client, bucket, [f"p1/k{n:03d}" for n in range(250)] + ["p10/other", "p1"])
    pages: list[int] = []
    sweep(S3Storage(bucket=bucket, location="p1"), lambda n, size: pages.append(n), page_size=100)
    assert pages == [100, 100, 50]
    assert sorted(o.object_name for o in s3_client.list_objects(bucket, recursive=True)) == ["p1", "p10/other"]
    settings.COZY_DELETION_PAGE_SIZE = 5000
    assert config.page_size() == 1000  # one DeleteObjects request never carries more


def test_a_second_run_is_harmless(fs_url, s3_client, s3_config):
    cozy = instance_with_prefix("local.localhost", "l" + secrets.token_hex(4), "")
    prefix = cozy.instance.key_prefix
    put_many(s3_client, org_bucket(cozy.instance), [f"{prefix}stray", f"{prefix}odd/key"])
    assert cozy.upload("f", b"12345").status_code == 201
    job, _ = open_job(cozy.host)
    assert run_job(job.pk) == "done"
    done = DeletionJob.objects.get(pk=job.pk)
    assert (done.objects_deleted, done.bytes_freed) == (3, 5 + 2 * 64)
    assert keys_under(s3_client, [org_bucket(cozy.instance)], prefix) == []
    assert run_job(job.pk) == "done"
    DeletionJob.objects.filter(pk=job.pk).update(state="queued", phase="objects")  # a stale replay
    assert run_job(job.pk) == "done"
    assert DeletionJob.objects.get(pk=job.pk).objects_deleted == 3


def test_unfinished_uploads_are_all_aborted_even_if_one_vanishes(fs_url, s3_client, monkeypatch):
    """An upload gone by the time it is aborted (finished meanwhile: AWS answers NoSuchUpload)
    is skipped, not taken for a missing bucket: every other upload is still aborted."""
    ensure_system_buckets()
    cozy = instance_with_prefix("mpu.localhost", "u" + secrets.token_hex(4), "")
    bucket, prefix = org_bucket(cozy.instance), cozy.instance.key_prefix
    for n in range(30):
        s3_client._create_multipart_upload(bucket, f"{prefix}files/f{n:02d}/{secrets.token_hex(8)}", {})
    client = current_client()
    abort = client._abort_multipart_upload
    calls: list[str] = []

    def first_is_already_gone(bucket_name, object_name, upload_id):
        calls.append(object_name)
        abort(bucket_name, object_name, upload_id)
        if len(calls) == 1:  # SeaweedFS accepts a second abort; AWS says NoSuchUpload
            raise S3Error(None, "NoSuchUpload", "gone", None, None, None)

    monkeypatch.setattr(client, "_abort_multipart_upload", first_is_already_gone)
    job, _ = open_job(cozy.host)
    assert run_job(job.pk) == DeletionJob.State.DONE
    assert len(calls) == 30
    assert s3_client._list_multipart_uploads(bucket, prefix=prefix).uploads == []
