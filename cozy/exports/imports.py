"""Imports requested through the API: a job row, run by a worker.

The job is marked done in the same transaction as the imported index, so a
worker killed after that commit does not import twice; one killed before it
left only unreferenced objects, which the next run writes again (same names)
or removes when it fails.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from cozy.exports.importer import ImportRefused, check_archive, import_parts
from cozy.exports.models import ImportJob
from cozy.exports.sources import opened_parts
from cozy.instances.models import Instance
from s3util import sanitize_error

log = logging.getLogger("cozy.exports")
PROGRESS_EVERY = 1.0


class ImportRunning(Exception):
    pass


def remote_hosts() -> list[str]:
    """Other cozies whose exports the API may fetch (fetching any URL a user gives would let
    them reach into the operator's network); the command may fetch any."""
    return list(getattr(settings, "COZY_IMPORT_REMOTE_HOSTS", []))


def precheck(instance: Instance, source: str) -> None:
    """ImportRefused (with its status) unless the import of ``source`` would start."""
    with opened_parts([source], remote=remote_hosts()) as parts:
        check_archive(instance, parts)


def request_import(instance: Instance, source: str) -> ImportJob:
    from cozy.exports.tasks import import_instance

    precheck(instance, source)
    try:
        with transaction.atomic():
            job = ImportJob.objects.create(instance=instance, source=source)
    except IntegrityError:
        raise ImportRunning("another import into this instance is under way") from None
    transaction.on_commit(lambda: import_instance.delay(job.pk))
    return job


def run_import(job_id: int) -> str:
    job = ImportJob.objects.select_related("instance").filter(pk=job_id).first()
    if job is None or job.finished:
        return "finished"
    rows = ImportJob.objects.filter(pk=job_id, state__in=ImportJob.UNFINISHED)
    rows.update(state=ImportJob.State.RUNNING, bytes_done=0)
    done = {"bytes": 0, "at": 0.0}

    def progress(n: int) -> None:
        done["bytes"] += n
        if time.monotonic() - done["at"] >= PROGRESS_EVERY:
            done["at"] = time.monotonic()
            rows.update(bytes_done=done["bytes"])

    def finish() -> None:  # inside the index's transaction
        rows.update(state=ImportJob.State.DONE, source="", bytes_done=done["bytes"], finished_at=timezone.now())

    try:
        with opened_parts([job.source], remote=remote_hosts()) as parts:
            import_parts(job.instance, parts, progress=progress, in_commit=finish,
                         on_plan=lambda plan: rows.update(bytes_total=plan.total_bytes))  # fmt: skip
    except Exception as err:  # noqa: BLE001 - any failure fails the job; the instance is left empty
        message = str(err) if isinstance(err, ImportRefused) else sanitize_error(err)
        rows.update(state=ImportJob.State.FAILED, source="", error=message[:300], finished_at=timezone.now())
        log.warning("import %s failed: %s", job_id, message)
        return ImportJob.State.FAILED
    log.info("import %s done", job_id)
    return ImportJob.State.DONE
