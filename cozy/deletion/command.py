"""``manage.py instances destroy <domain> [--yes] [--wait]``: confirm, queue, follow."""

from __future__ import annotations

from typing import IO

from django.core.management.base import CommandError

from cozy.deletion import progress
from cozy.deletion.index import index_totals
from cozy.deletion.models import DeletionJob
from cozy.deletion.services import DeletionRefused, get_instance, request_deletion
from cozy.instances.hosts import domain_key
from cozy.instances.models import Instance


def _confirm(instance: Instance, out: IO[str]) -> None:
    objects, size = index_totals(instance)
    out.write(
        f"This deletes the instance {instance.domain} and every byte it stores "
        f"({objects:,} file contents and versions, {progress.human_bytes(size)}, plus previews and exports).\n"
        "It cannot be undone.\n"
    )
    out.flush()
    try:
        answer = input(f"Type the domain ({instance.domain}) to confirm: ")
    except EOFError:
        answer = ""
    if domain_key(answer) != instance.domain:
        raise CommandError("not confirmed: nothing was deleted (pass --yes to skip this question)")


def destroy(domain: str, *, yes: bool, wait: bool, out: IO[str]) -> None:
    try:
        instance = get_instance(domain)
        if not yes and instance.state == Instance.State.READY:
            _confirm(instance, out)
        job, created = request_deletion(domain, requested_by="manage.py instances destroy")
    except DeletionRefused as err:
        raise CommandError(str(err)) from None
    if created:
        out.write(f"deletion of {job.domain} queued (job {job.pk}); its API now answers 410 Gone\n")
    else:
        out.write(f"{job.domain} is already being deleted (job {job.pk}, {job.state}): re-queued\n")
    if not wait:
        out.write(f"follow it with: manage.py instances destroy {job.domain} --wait\n")
        return
    _wait(job.pk, out)


def _wait(job_id: int, out: IO[str]) -> None:
    try:
        job = progress.follow(job_id, out)
    except KeyboardInterrupt:
        out.write("\nstopped following; the deletion goes on in the background\n")
        return
    if job.state == DeletionJob.State.FAILED:
        raise CommandError(
            f"deletion of {job.domain} failed: {job.last_error or 'see the worker log'}; "
            "run the same command again to resume it"
        )
    seconds = (job.finished_at - job.started_at).total_seconds() if job.finished_at and job.started_at else 0
    out.write(f"deleted {job.domain}: {progress.describe(job)} in {seconds:.1f} s\n")
