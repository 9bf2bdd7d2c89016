"""Import jobs: queued by the API (a worker runs them) or run by the command in its process.

A run first checks the whole archive (importer.check_archive), then writes the
contents in the plan's order, recording a checkpoint (``pieces_done``) at most
every second, then commits the index (and the wipe, if confirmed) in the same
transaction that marks the job done. What can go wrong, and what is left:

- the archive is refused (unreadable, corrupt, over quota, not empty): the job
  is ``failed`` and what it wrote is removed; the index was never touched;
- anything else half-way (storage or network down, the worker killed): the job
  is ``stopped`` (or stays ``running`` until its heartbeat is stale) with its
  objects kept, invisible: ``resume`` writes only what the checkpoint does not
  cover (and what a listing shows missing), ``rollback`` removes what it wrote.

Every write to the row is conditioned on the run's ``attempt``: a run taken
over by another can neither finish nor fail the job.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from cozy.exports import config, uploaded
from cozy.exports.importer import (
    ImportRefused,
    Piece,
    Plan,
    check_archive,
    commit_index,
    digest,
    discard,
    unreferenced,
    write_avatar,
    write_pieces,
)
from cozy.exports.models import ImportJob
from cozy.exports.sources import opened_parts
from cozy.files.content import Upload
from cozy.instances.models import Instance
from cozy.storage.stores import store_for
from s3util import sanitize_error

log = logging.getLogger("cozy.exports")
PROGRESS_EVERY = 1.0
State = ImportJob.State


class ImportRunning(Exception):
    """Another import of this instance is queued, running or stopped (resume or roll it back)."""


class ImportBusy(Exception):
    """A live run holds the job: try again once its heartbeat is stale."""


class Superseded(Exception):
    """Another run took the job over, or it was rolled back: stop, touching nothing."""


class NotResumable(Exception):
    pass


def remote_hosts() -> list[str]:
    """Other cozies whose exports the API may fetch (fetching any URL a user gives would let
    them reach into the operator's network); the command may fetch any."""
    return list(getattr(settings, "COZY_IMPORT_REMOTE_HOSTS", []))


def precheck(instance: Instance, source: str, *, wipe: bool = False) -> None:
    """ImportRefused (with its status) unless the import of ``source`` would start."""
    with opened_parts([source], remote=remote_hosts(), instance=instance) as parts:
        check_archive(instance, parts, wipe=wipe)


def create_job(instance: Instance, sources: list[str], *, wipe: bool, remote_any: bool = False) -> ImportJob:
    try:
        with transaction.atomic():
            return ImportJob.objects.create(instance=instance, sources=sources, wipe=wipe, remote_any=remote_any)
    except IntegrityError:
        raise ImportRunning("another import into this instance is unfinished: resume it or roll it back") from None


def request_import(instance: Instance, source: str, *, wipe: bool = False) -> ImportJob:
    from cozy.exports.tasks import import_instance

    precheck(instance, source, wipe=wipe)
    job = create_job(instance, [source], wipe=wipe)
    transaction.on_commit(lambda: import_instance.delay(job.pk))
    return job


def precheck_upload(instance: Instance, upload: Upload, *, wipe: bool = False) -> None:
    """precheck of an archive sent as the request body: stored, checked, then removed."""
    source = uploaded.store_archive(instance, upload, wipe=wipe)
    with uploaded.removed_after(instance, source):
        precheck(instance, source, wipe=wipe)


def request_upload_import(instance: Instance, upload: Upload, *, wipe: bool = False) -> ImportJob:
    """An import of an archive sent as the request body; the job removes it when it ends."""
    if ImportJob.objects.filter(instance=instance, state__in=ImportJob.UNFINISHED).exists():  # before the body
        raise ImportRunning("another import into this instance is unfinished: resume it or roll it back")
    source = uploaded.store_archive(instance, upload, wipe=wipe)
    try:
        return request_import(instance, source, wipe=wipe)
    except BaseException:
        uploaded.remove(instance, [source])
        raise


def is_stale(job: ImportJob) -> bool:
    fresh = timezone.now() - timedelta(seconds=config.stale_seconds())
    return job.state != State.RUNNING or job.heartbeat_at is None or job.heartbeat_at <= fresh


def _claim(job_id: int) -> tuple[ImportJob, str] | None:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().select_related("instance").filter(pk=job_id).first()
        if job is None or job.finished or job.state == State.ROLLING_BACK:
            return None
        if not is_stale(job):
            raise ImportBusy(job_id)
        attempt = secrets.token_hex(8)
        ImportJob.objects.filter(pk=job_id).update(state=State.RUNNING, attempt=attempt, heartbeat_at=timezone.now(),
                                                   error="")  # fmt: skip
        job.refresh_from_db()
    return job, attempt


class Checkpoint:
    """The run's progress, written to its row at most every second (and its heartbeat)."""

    def __init__(self, rows: QuerySet[ImportJob], watch: Callable[[int, int], None]):
        self.rows, self.watch = rows, watch
        self.pieces = self.bytes = self.total = 0
        self.at = 0.0

    def start(self, job: ImportJob, plan: Plan) -> set[int]:
        """The pieces stored already: under the checkpoint of a run of the same plan, and listed
        with their size (an object removed since, by fsck --fix say, is written again)."""
        self.total = plan.total_bytes
        same = job.plan_digest == digest(plan)
        if not same:
            self.save(plan_digest=digest(plan), contents=[p.name for p in plan.pieces], pieces_done=0,
                      bytes_total=plan.total_bytes, bytes_done=0)  # fmt: skip
            return set()
        self.save(bytes_total=plan.total_bytes)
        checked = plan.pieces[: job.pieces_done]
        if not checked:
            return set()
        listed = {o.name: o.size for o in store_for(job.instance, "files").list()}
        return {i for i, p in enumerate(checked) if listed.get(p.name) == p.size}

    def save(self, **fields: object) -> None:
        if not self.rows.update(heartbeat_at=timezone.now(), **fields):
            raise Superseded()

    def advance(self, index: int, piece: Piece) -> None:
        self.pieces, self.bytes = index + 1, self.bytes + piece.size
        self.watch(self.bytes, self.total)
        if time.monotonic() - self.at >= PROGRESS_EVERY:
            self.at = time.monotonic()
            self.save(pieces_done=self.pieces, bytes_done=self.bytes)
        if config.import_pause_seconds():
            time.sleep(config.import_pause_seconds())


def run_import(job_id: int, watch: Callable[[int, int], None] = lambda done, total: None) -> str:
    """Run (or resume) the job; its state at the end ("busy" if a live run holds it)."""
    claimed = _claim(job_id)
    if claimed is None:
        return "finished"
    job, attempt = claimed
    rows = ImportJob.objects.filter(pk=job.pk, attempt=attempt, state=State.RUNNING)
    checkpoint = Checkpoint(rows, watch)
    try:
        _run(job, checkpoint)
    except Superseded:
        log.info("import %s: superseded, stopping", job_id)
        return "superseded"
    except ImportRefused as err:
        _fail(job, rows, str(err))
        return State.FAILED
    except Exception as err:  # noqa: BLE001 - anything else stops the job, resumable
        message = sanitize_error(err)
        rows.update(state=State.STOPPED, error=message[:300], pieces_done=checkpoint.pieces)
        log.warning("import %s stopped: %s", job_id, message)
        return State.STOPPED
    log.info("import %s done", job_id)
    return State.DONE


def _run(job: ImportJob, checkpoint: Checkpoint) -> None:
    remote = True if job.remote_any else remote_hosts()
    with opened_parts(job.sources, remote=remote, instance=job.instance) as parts:
        plan, zips = check_archive(job.instance, parts, wipe=job.wipe)
        stored = checkpoint.start(job, plan)
        write_pieces(job.instance, plan, zips, skip=lambda i, p: i in stored, done=checkpoint.advance)
        write_avatar(job.instance, plan, zips, before=lambda: checkpoint.save(avatar_written=True))

        def finish() -> None:  # inside the index's transaction
            checkpoint.save(state=State.DONE, sources=[], pieces_done=len(plan.pieces), bytes_done=plan.total_bytes,
                            finished_at=timezone.now())  # fmt: skip

        commit_index(job.instance, plan, wipe=job.wipe, in_commit=finish)
    uploaded.remove(job.instance, job.sources)  # the job is done: nothing reads it again


def _fail(job: ImportJob, rows: QuerySet[ImportJob], message: str) -> None:
    """A refused archive: remove what this job wrote (in this run or an earlier one) while it
    still blocks any other import of the instance (one of the same archive writes the same
    names), then mark it failed."""
    if rows.exists():
        job.refresh_from_db()
        discard(job.instance, job.contents, avatar=job.avatar_written)
        if rows.update(state=State.FAILED, sources=[], error=message[:300], finished_at=timezone.now()):
            uploaded.remove(job.instance, job.sources)  # refused: it cannot be resumed
    log.warning("import %s failed: %s", job.pk, message)


def resume(job: ImportJob) -> ImportJob:
    """Queue a stopped job again (or one whose worker died: its heartbeat is stale)."""
    from cozy.exports.tasks import import_instance

    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.state not in (State.STOPPED, State.RUNNING, State.QUEUED) or not is_stale(job):
            raise NotResumable(f"the import is {job.state}" + (" and alive" if job.state == State.RUNNING else ""))
        ImportJob.objects.filter(pk=job.pk).update(state=State.QUEUED, attempt="", error="")
        transaction.on_commit(lambda: import_instance.delay(job.pk))
    job.refresh_from_db()
    return job


def rollback(job: ImportJob) -> ImportJob:
    """Undo an unfinished import: its objects go, the index was never changed (an instance
    confirmed for a wipe keeps all its data: the wipe happens only with the final commit).
    The job stays unfinished (``rolling_back``) until they are gone, so that no other import
    writes the same names meanwhile; a failed removal leaves it stopped, to roll back again."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().select_related("instance").get(pk=job.pk)
        if job.state not in (State.STOPPED, State.RUNNING, State.QUEUED) or not is_stale(job):
            raise NotResumable(f"the import is {job.state}" + (" and alive" if job.state == State.RUNNING else ""))
        ImportJob.objects.filter(pk=job.pk).update(state=State.ROLLING_BACK, attempt="")
    rows = ImportJob.objects.filter(pk=job.pk, state=State.ROLLING_BACK)
    try:
        store_for(job.instance, "files").delete_many(unreferenced(job.instance, job.contents))
        if job.avatar_written:
            store_for(job.instance, "avatar").delete("avatar")
    except OSError as err:
        rows.update(state=State.STOPPED, error=f"the rollback failed: {sanitize_error(err)}"[:300])
        raise
    if rows.update(state=State.ROLLED_BACK, sources=[], error="", finished_at=timezone.now()):
        uploaded.remove(job.instance, job.sources)
    job.refresh_from_db()
    return job


def requeue_unfinished() -> int:
    """Queued and running jobs (a starting worker calls this). A running one may have lost its
    worker a moment ago, its heartbeat still fresh: its task waits until the heartbeat is stale
    (ImportBusy), then takes it over; one whose worker is alive is left to it then."""
    from cozy.exports.tasks import import_instance

    ids = list(ImportJob.objects.filter(state__in=(State.QUEUED, State.RUNNING)).values_list("pk", flat=True))
    for job_id in ids:
        import_instance.delay(job_id)
    return len(ids)
