"""Who runs a job right now: a lease on the job row, taken and renewed by conditional updates.

Two messages for one job can exist (a broker redelivery next to the start-up
re-enqueue, a retry, an operator running ``destroy`` again). Deleting twice
would be harmless, but the counters would count twice; the lease keeps one
runner per job. A runner that dies stops renewing, and its lease expires.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta

from django.db.models import F, Q
from django.utils import timezone

from cozy.deletion import config
from cozy.deletion.models import DeletionJob


class LeaseLost(Exception):
    """Another runner took the job over (ours expired); stop without touching it."""


def new_owner() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def _until() -> datetime:
    return timezone.now() + timedelta(seconds=config.lease_seconds())


def claim(job_id: int, owner: str) -> bool:
    """Take an unfinished job whose lease is free or expired."""
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner)
    taken = (
        DeletionJob.objects.filter(free, pk=job_id, state__in=DeletionJob.UNFINISHED)
        .update(state=DeletionJob.State.RUNNING, lease_owner=owner, lease_until=_until(),
                attempts=F("attempts") + 1, updated_at=now)
    )  # fmt: skip
    if taken:
        DeletionJob.objects.filter(pk=job_id, started_at__isnull=True).update(started_at=now)
    return bool(taken)


def seconds_left(job_id: int) -> float:
    until = DeletionJob.objects.filter(pk=job_id).values_list("lease_until", flat=True).first()
    return max(0.0, (until - timezone.now()).total_seconds()) if until else 0.0


def update(job_id: int, owner: str, **fields: object) -> None:
    """Write fields and renew the lease, if it is still ours."""
    now = timezone.now()
    if not DeletionJob.objects.filter(pk=job_id, lease_owner=owner).update(
        lease_until=_until(), updated_at=now, **fields
    ):
        raise LeaseLost()


def add_progress(job_id: int, owner: str, objects: int, size: int) -> None:
    update(job_id, owner, objects_deleted=F("objects_deleted") + objects, bytes_freed=F("bytes_freed") + size)


def release(job_id: int, owner: str, **fields: object) -> None:
    """Give the job up (finished, or waiting for a retry) so that the next message runs at once."""
    DeletionJob.objects.filter(pk=job_id, lease_owner=owner).update(
        lease_owner="", lease_until=None, updated_at=timezone.now(), **fields
    )
