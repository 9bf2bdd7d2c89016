"""The Celery task that makes a content's thumbnails, and how it is queued.

``acks_late``: a worker killed mid-job leaves its message to be delivered again
(Redis, after its visibility timeout), and the job is idempotent (same keys, same
bytes). The embedded filesystem broker cannot redeliver a dead worker's message, so
a job marks its content ``running`` while it works and a starting worker re-queues
what is still marked so; a duplicate only writes the same objects again. Store and
database outages and the time limit are retried with backoff; a source that cannot
have thumbnails (too large, a bomb, corrupt) is recorded once and not retried.
"""

from __future__ import annotations

import logging
import random

from celery import Task, shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError
from django.utils import timezone

from cozy.instances.models import Instance
from cozy.thumbnails.errors import ThumbnailError
from cozy.thumbnails.generate import generate
from cozy.thumbnails.limits import DEFAULT_TIME_LIMIT
from cozy.thumbnails.models import ThumbnailJob

log = logging.getLogger("cozy.thumbnails")
RETRIED = (OSError, OperationalError, InterfaceError)
MAX_RETRIES = 3
THUMBS = ThumbnailJob.Kind.THUMBS
_LIMIT = getattr(settings, "COZY_THUMBS_TIME_LIMIT", DEFAULT_TIME_LIMIT)


def retry_delay(retries: int) -> float:
    """Seconds before retry ``retries`` + 1: 10, 40, 160... with jitter, so one outage's jobs spread out."""
    delay = 10 * 4**retries
    return random.uniform(delay / 2, delay)


# The renderer stops itself at the time limit; the hard limit (prefork pools) is the
# backstop for a single C call that never returns.
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES,
             time_limit=_LIMIT * 2 + 30, ignore_result=True)  # fmt: skip
def make_thumbnails(self: Task, instance_id: int, file_id: str, content_id: str) -> str:
    instance = Instance.objects.filter(pk=instance_id, state=Instance.State.READY).first()
    if instance is None:
        return "no instance"
    mark(instance, file_id, content_id, ThumbnailJob.State.RUNNING, permanent=False)
    try:
        made = generate(instance, file_id, content_id)
    except ThumbnailError as err:
        if not err.permanent and self.request.retries < MAX_RETRIES:
            raise self.retry(exc=err, countdown=retry_delay(self.request.retries)) from None
        record_failure(instance, file_id, content_id, err.reason, str(err), err.permanent)
        return err.reason
    except RETRIED as err:
        if self.request.retries < MAX_RETRIES:
            log.info("thumbnails of %s will be retried: %s", file_id, type(err).__name__)
            raise self.retry(exc=err, countdown=retry_delay(self.request.retries)) from None
        record_failure(instance, file_id, content_id, "storage", type(err).__name__, permanent=False)
        return "storage"
    ThumbnailJob.objects.filter(instance=instance, content_id=content_id, kind=THUMBS).delete()
    return f"made {len(made)}"


def mark(instance: Instance, file_id: str, content_id: str, state: str, kind: str = THUMBS,
         **fields: object) -> None:  # fmt: skip
    """Set the one row of this content and kind (made if missing); a row made meanwhile stands."""
    fields.update(file_id=file_id, state=state, updated_at=timezone.now())
    rows = ThumbnailJob.objects.filter(instance=instance, content_id=content_id, kind=kind)
    if not rows.update(**fields):
        try:
            ThumbnailJob.objects.create(instance=instance, content_id=content_id, kind=kind, **fields)
        except IntegrityError:  # recorded meanwhile by another run: that record stands
            pass


def record_failure(instance: Instance, file_id: str, content_id: str, reason: str, detail: str,
                   permanent: bool, kind: str = THUMBS) -> None:  # fmt: skip
    """One row per content and kind; its attempts give the routes' backoff."""
    mark(instance, file_id, content_id, ThumbnailJob.State.FAILED, kind,
         reason=reason, detail=detail[:255], permanent=permanent)  # fmt: skip
    log.info("no %s for file %s: %s", "preview" if kind == ThumbnailJob.Kind.PREVIEW else "thumbnails", file_id,
             reason)  # fmt: skip


def request(instance: Instance, file_id: str, content_id: str) -> bool:
    """Queue a content whose thumbnails were asked for and are missing, unless it is queued
    or failed recently (backoff) or for good. True when a job went out."""
    job = ThumbnailJob.objects.filter(instance=instance, content_id=content_id, kind=THUMBS).first()
    if job is None:
        try:
            ThumbnailJob.objects.create(instance=instance, file_id=file_id, content_id=content_id)
        except IntegrityError:
            return False  # another request just queued it
    elif job.may_queue():
        ThumbnailJob.objects.filter(pk=job.pk, attempts=job.attempts).update(
            state=ThumbnailJob.State.QUEUED, attempts=job.attempts + 1, updated_at=timezone.now()
        )
    else:
        return False
    return queue(instance.pk, file_id, content_id)


def queue(instance_id: int, file_id: str, content_id: str) -> bool:
    """Send the job; a broker outage is logged, never raised (the route queues it again later)."""
    try:
        make_thumbnails.delay(instance_id, file_id, content_id)
        return True
    except Exception as err:  # noqa: BLE001 - an upload must not fail for its thumbnails
        log.warning("could not queue thumbnails of %s: %s", file_id, type(err).__name__)
        return False


def requeue_running() -> int:
    """Queue again the jobs marked running: after a crash no worker is on them any more."""
    rows = ThumbnailJob.objects.filter(kind=THUMBS, state=ThumbnailJob.State.RUNNING)
    jobs = list(rows.values_list("instance_id", "file_id", "content_id"))
    return sum(queue(*job) for job in jobs)


@worker_ready.connect
def requeue_on_start(**_: object) -> None:
    try:
        count = requeue_running()
    except DatabaseError as err:
        log.warning("could not re-queue the running thumbnail jobs: %s", type(err).__name__)
        return
    if count:
        log.info("re-queued %d thumbnail job(s) left running", count)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def regenerate_thumbnails(instance_id: int, missing_only: bool = False) -> str:
    """``manage.py thumbnails regenerate --queue``: one instance, in the worker (idempotent)."""
    from cozy.thumbnails.regenerate import regenerate

    instance = Instance.objects.filter(pk=instance_id, state=Instance.State.READY).first()
    if instance is None:
        return "no instance"
    counts = regenerate(instance, missing_only=missing_only)
    log.info("thumbnails of %s: %d made, %d failed, %d skipped", instance.domain, counts.made, counts.failed,
             counts.skipped)  # fmt: skip
    return f"{counts.made} made, {counts.failed} failed, {counts.skipped} skipped"


@shared_task(ignore_result=True)
def sweep_previews() -> int:
    """Celery beat (CELERY_BEAT_SCHEDULE): previews not served for COZY_PREVIEWS_MAX_AGE days go."""
    from cozy.thumbnails.previews import sweep

    removed = sweep()
    if removed:
        log.info("swept %d unused PDF preview(s)", removed)
    return removed
