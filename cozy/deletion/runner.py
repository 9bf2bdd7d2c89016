"""Run one deletion job to its end, from wherever a previous run stopped.

Phases, each safe to repeat:

1. index: delete the file index and the tokens (the instance row stays,
   ``deleting``): index first, bytes after, as everywhere in cozy;
2. objects: empty the instance's prefix in its organization's bucket (every
   instance area lies there, see cozy.storage.areas), let each system area
   release what the instance held, then delete the instance row;
3. done: log a summary.

One listing of each area is enough: an upload that committed before phase 1
left its object for phase 2 to find, and one that tries to commit after fails
and removes its own object (see index.delete_index).

Storage errors propagate as OSError (the task retries them); the counters and
the phase are on the job row, so a new run resumes where the last one stopped.
"""

from __future__ import annotations

import logging
import time

from django.db.models import Q
from django.utils import timezone

from cozy.deletion import config, lease
from cozy.deletion.index import delete_index, delete_instance_row
from cozy.deletion.models import DeletionJob
from cozy.deletion.sweeper import sweep
from cozy.storage.areas import Place, system_areas
from cozy.storage.stores import instance_root
from s3util.errors import sanitize_error

log = logging.getLogger("cozy.deletion")
Phase = DeletionJob.Phase


class JobBusy(Exception):
    """Another runner holds a live lease on the job."""

    def __init__(self, retry_in: float):
        super().__init__(f"another runner holds the job for {retry_in:.0f} s more")
        self.retry_in = retry_in


def run_job(job_id: int, owner: str | None = None) -> str:
    """Run or resume a job; returns its final state. A done job is left alone."""
    owner = owner or lease.new_owner()
    job = DeletionJob.objects.filter(pk=job_id).first()
    if job is None:
        log.warning("deletion job %s does not exist (any more); nothing to do", job_id)
        return "missing"
    if job.state not in DeletionJob.UNFINISHED:
        return job.state
    if not lease.claim(job_id, owner):
        state = DeletionJob.objects.filter(pk=job_id).values_list("state", flat=True).first()
        if state in DeletionJob.UNFINISHED:
            raise JobBusy(lease.seconds_left(job_id))
        return state or "missing"
    return _run_claimed(DeletionJob.objects.get(pk=job_id), owner)


def _run_claimed(job: DeletionJob, owner: str) -> str:
    started = time.monotonic()
    log.info("deleting instance %s (job %s, attempt %s, phase %s)", job.domain, job.pk, job.attempts, job.phase)
    try:
        _run_phases(job, owner)
    except lease.LeaseLost:
        log.warning("deletion job %s was taken over by another runner; leaving it to that one", job.pk)
        return "lost"
    except Exception as err:
        lease.release(job.pk, owner, last_error=sanitize_error(err))
        log.warning("deletion job %s stopped: %s", job.pk, sanitize_error(err))
        raise
    _log_summary(job.pk, time.monotonic() - started)
    return DeletionJob.State.DONE


def _run_phases(job: DeletionJob, owner: str) -> None:
    place = Place(job.db_prefix, job.org_bucket, job.bucket_prefix)
    if job.phase == Phase.INDEX:
        delete_index(job.db_prefix)
        lease.update(job.pk, owner, phase=Phase.OBJECTS)
    _empty(place, job.pk, owner)
    for area in system_areas():
        if area.release:
            area.release(place)
    delete_instance_row(job.db_prefix)
    lease.release(job.pk, owner, state=DeletionJob.State.DONE, phase=Phase.DONE, last_error="",
                  finished_at=timezone.now())  # fmt: skip


def _empty(place: Place, job_id: int, owner: str) -> None:
    pause = config.pause_seconds()

    def on_progress(objects: int, size: int) -> None:
        lease.add_progress(job_id, owner, objects, size)
        if pause:
            time.sleep(pause)

    sweep(instance_root(place), on_progress, page_size=config.page_size(), parallel=config.parallel_requests())


def _log_summary(job_id: int, seconds: float) -> None:
    job = DeletionJob.objects.get(pk=job_id)
    total = (job.finished_at - job.started_at).total_seconds() if job.started_at and job.finished_at else seconds
    log.info(
        "deleted instance %s (job %s): %d objects, %d bytes freed, %.1f s in all over %d attempt(s)",
        job.domain, job.pk, job.objects_deleted, job.bytes_freed, total, job.attempts,
    )  # fmt: skip


def mark_failed(job_id: int, err: BaseException) -> None:
    """The task gave up: say so on the job, unless a live runner still holds it."""
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    DeletionJob.objects.filter(free, pk=job_id, state__in=DeletionJob.UNFINISHED).update(
        state=DeletionJob.State.FAILED, last_error=sanitize_error(err), lease_owner="", lease_until=None,
        finished_at=now, updated_at=now,
    )  # fmt: skip
    log.error("deletion job %s failed: %s", job_id, sanitize_error(err))
