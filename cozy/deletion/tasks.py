"""The Celery side of instance deletion: the task, its retries, and the start-up re-enqueue.

The task is ``acks_late`` (a worker killed mid-job leaves its message to be
delivered again, on brokers that can) and retries storage and database
outages with exponential backoff and jitter (see config.retry_delay). The
embedded filesystem broker cannot redeliver the message of a dead worker, so
every worker also re-queues the unfinished jobs when it starts; duplicates are
harmless (see lease.py).
"""

from __future__ import annotations

import logging
import random

from celery import Task, shared_task
from celery.signals import worker_ready
from django.db import DatabaseError, InterfaceError, OperationalError

from cozy.deletion import config
from cozy.deletion.models import DeletionJob
from cozy.deletion.runner import JobBusy, mark_failed, run_job

log = logging.getLogger("cozy.deletion")

# Storage errors come out of the runner as OSError (StorageUnavailable, DeleteError...).
RETRIED = (OSError, OperationalError, InterfaceError)


class DeletionTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        """Out of retries, or an error not worth retrying: the job is marked failed."""
        try:
            mark_failed(args[0], exc)
        except DatabaseError:
            log.exception("could not mark deletion job %s failed", args[0])


@shared_task(bind=True, base=DeletionTask, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def delete_instance(self: Task, job_id: int) -> str:
    try:
        return run_job(job_id)
    except JobBusy as busy:
        # A fresh message rather than a retry: waiting for a live runner must not use up retries.
        delete_instance.apply_async((job_id,), countdown=busy.retry_in + 1)
        return "busy"
    except RETRIED as err:
        delay = config.retry_delay(self.request.retries)
        countdown = random.uniform(delay / 2, delay)  # jitter: many jobs hit by one outage spread out
        log.info("deletion job %s will retry in %.1f s", job_id, countdown)
        # Past max_retries, Celery raises err itself and on_failure marks the job failed.
        raise self.retry(exc=err, countdown=countdown, max_retries=config.max_retries()) from None


def requeue_unfinished() -> int:
    """Send a message for every unfinished job: a worker that died with one may have lost it."""
    jobs = list(DeletionJob.objects.filter(state__in=DeletionJob.UNFINISHED).values_list("pk", flat=True))
    for job_id in jobs:
        delete_instance.delay(job_id)
    return len(jobs)


@worker_ready.connect
def requeue_on_start(**_: object) -> None:
    try:
        count = requeue_unfinished()
    except DatabaseError as err:
        log.warning("could not re-queue unfinished deletion jobs: %s", type(err).__name__)
        return
    if count:
        log.info("re-queued %d unfinished deletion job(s)", count)
