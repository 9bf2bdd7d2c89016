"""Ask for an instance's deletion: the instance turns ``deleting`` and a job is queued.

Used by ``manage.py instances destroy`` and the admin action.
"""

from __future__ import annotations

import logging

from django.db import transaction

from cozy.deletion.index import index_totals
from cozy.deletion.models import DeletionJob
from cozy.deletion.tasks import delete_instance
from cozy.instances.hosts import domain_key
from cozy.instances.models import Instance
from cozy.storage.stores import place_of

log = logging.getLogger("cozy.deletion")


class DeletionRefused(Exception):
    """The request cannot be honoured; the message says why, for an operator."""


def _explain_missing(domain: str) -> DeletionRefused:
    done = DeletionJob.objects.filter(domain=domain, state=DeletionJob.State.DONE).first()
    if done is not None:
        when = done.finished_at.strftime("%Y-%m-%d %H:%M UTC") if done.finished_at else "earlier"
        return DeletionRefused(f"the instance {domain!r} was already deleted ({when}, job {done.pk})")
    return DeletionRefused(f"no instance with domain {domain!r}")


def get_instance(domain: str) -> Instance:
    domain = domain_key(domain)
    instance = Instance.objects.filter(domain=domain).first()
    if instance is None:
        raise _explain_missing(domain)
    return instance


def request_deletion(domain: str, requested_by: str = "") -> tuple[DeletionJob, bool]:
    """Mark the instance ``deleting`` and queue its job; (job, created).

    An instance already being deleted gets its open job back, re-queued (a
    failed one starts again where it stopped); a second message is harmless.
    """
    domain = domain_key(domain)
    with transaction.atomic():
        job, created = open_job(domain, requested_by)
        transaction.on_commit(lambda: enqueue(job.pk))
    log.info("deletion of instance %s %s (job %s)", domain, "requested" if created else "re-queued", job.pk)
    return job, created


@transaction.atomic
def open_job(domain: str, requested_by: str = "") -> tuple[DeletionJob, bool]:
    """Turn the instance ``deleting`` and create or reopen its job, in one transaction.

    Sends no message; :func:`request_deletion` does. A benchmark or an
    operator's shell can run the job in-process with ``runner.run_job``.
    """
    domain = domain_key(domain)
    instance = Instance.objects.select_for_update().filter(domain=domain).first()
    if instance is None:
        raise _explain_missing(domain)
    job = DeletionJob.objects.filter(db_prefix=instance.db_prefix).exclude(state=DeletionJob.State.DONE).first()
    created = job is None
    if job is None:
        job = _new_job(instance, requested_by)
    elif job.state == DeletionJob.State.FAILED:
        job.state, job.finished_at = DeletionJob.State.QUEUED, None
        job.save(update_fields=["state", "finished_at"])
    if instance.state != Instance.State.DELETING:
        instance.state = Instance.State.DELETING
        instance.save(update_fields=["state"])
    return job, created


def _new_job(instance: Instance, requested_by: str) -> DeletionJob:
    objects, size = index_totals(instance)
    place = place_of(instance)
    return DeletionJob.objects.create(
        domain=instance.domain, db_prefix=instance.db_prefix, org_id=instance.org_id,
        org_bucket=place.org_bucket, bucket_prefix=place.bucket_prefix,
        requested_by=requested_by[:150], expected_objects=objects, expected_bytes=size,
    )  # fmt: skip


def enqueue(job_id: int) -> None:
    delete_instance.delay(job_id)
