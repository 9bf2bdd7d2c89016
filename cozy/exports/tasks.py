"""The Celery side of exports: the export task, the expiry sweep, the start-up re-queue.

The task is ``acks_late``: a worker killed mid-export leaves its message to be
delivered again, and the new run starts over under a fresh attempt (runner.py).
The embedded filesystem broker cannot redeliver a dead worker's message, so a
starting worker also re-queues the unfinished exports, and the queued imports
and those whose worker died (a stopped import waits for its owner: resume or
roll back); a duplicate finds the job busy or finished and does nothing.
"""

from __future__ import annotations

import logging

from celery import Task, shared_task
from celery.signals import worker_ready
from django.db import DatabaseError

from cozy.exports import config
from cozy.exports.expiry import expire_exports
from cozy.exports.models import Export
from cozy.exports.runner import ExportBusy, run_export

log = logging.getLogger("cozy.exports")


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def export_instance(self: Task, export_id: str) -> str:
    try:
        return run_export(export_id)
    except ExportBusy:
        # A fresh message, not a retry: waiting for a live runner must not use up retries.
        export_instance.apply_async((export_id,), countdown=config.stale_seconds())
        return "busy"


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def import_instance(job_id: int) -> str:
    from cozy.exports.imports import ImportBusy, run_import

    try:
        return run_import(job_id)
    except ImportBusy:
        import_instance.apply_async((job_id,), countdown=config.stale_seconds())
        return "busy"


@shared_task(ignore_result=True)
def remove_expired_exports() -> int:
    """The periodic sweep (Celery beat, see CELERY_BEAT_SCHEDULE in settings)."""
    return expire_exports()


def requeue_unfinished() -> int:
    from cozy.exports.imports import requeue_unfinished as requeue_imports

    ids = list(Export.objects.filter(state__in=Export.UNFINISHED).values_list("pk", flat=True))
    for export_id in ids:
        export_instance.delay(export_id)
    return len(ids) + requeue_imports()


@worker_ready.connect
def requeue_on_start(**_: object) -> None:
    try:
        count = requeue_unfinished()
    except DatabaseError as err:
        log.warning("could not re-queue unfinished exports and imports: %s", type(err).__name__)
        return
    if count:
        log.info("re-queued %d unfinished export(s) and import(s)", count)
