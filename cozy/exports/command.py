"""``manage.py instances export|import``: queue an export and follow it; run, resume or roll back an import."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import IO

from django.conf import settings
from django.core.management.base import CommandError

from cozy.exports import imports
from cozy.exports.models import Export, ImportJob
from cozy.exports.services import ExportRunning, request_export, token_for
from cozy.files.models import Node
from cozy.instances.hosts import domain_key
from cozy.instances.models import Instance
from s3util import sanitize_error

POLL_SECONDS = 0.5


def manifest_url(export: Export) -> str:
    # https behind the TLS proxy of a production set-up (COZY_HTTPS), http for a local run
    scheme = getattr(settings, "COZY_PUBLIC_SCHEME", None) or ("https" if settings.SESSION_COOKIE_SECURE else "http")
    return f"{scheme}://{export.instance.domain}/move/exports/{token_for(export)}"


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def export(domain: str, *, wait: bool, out: IO[str]) -> None:
    instance = Instance.objects.filter(domain=domain_key(domain)).first()
    if instance is None or instance.state != Instance.State.READY:
        raise CommandError(f"no instance with domain {domain!r}")
    try:
        job = request_export(instance)
    except ExportRunning as err:
        raise CommandError(f"{err}: wait for it to end") from None
    out.write(f"export {job.pk} of {instance.domain} queued\n")
    if not wait:
        out.write(f"manifest: {manifest_url(job)}\n")
        return
    job = follow(job.pk, out)
    if job.state != Export.State.DONE:
        raise CommandError(f"export {job.pk} {job.state}: {job.error or 'see the worker log'}")
    total = sum(p["size"] for p in job.parts)
    out.write(f"{len(job.parts)} part(s), {human_bytes(total)}, expires {job.expires_at:%Y-%m-%d %H:%M} UTC\n")
    out.write(f"manifest: {manifest_url(job)}\n")


def _poll(export_id: str, show: Callable[[Export], None]) -> Export:
    while True:
        job = Export.objects.select_related("instance").get(pk=export_id)
        show(job)
        if job.finished:
            return job
        time.sleep(POLL_SECONDS)


def follow(export_id: str, out: IO[str]) -> Export:
    """A rich progress bar (files and bytes copied) on a terminal, plain lines otherwise."""
    if not out.isatty():
        return _poll(export_id, lambda job: None)
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TextColumn("{task.fields[files]}"),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=Console(file=out)) as bar:
        task = bar.add_task("queued", total=None, files="")

        def show(job: Export) -> None:
            bar.update(task, description=job.state, total=job.bytes_total or None, completed=job.bytes_done,
                       files=f"{job.files_done:,}/{job.files_total:,} files")  # fmt: skip

        return _poll(export_id, show)


def import_into(domain: str, sources: list[str], *, wipe: bool = False, resume: int | None = None,
                rollback: int | None = None, out: IO[str]) -> None:  # fmt: skip
    """Run an import job in this process (the parts are read from the store or local files,
    never copied); ``resume`` or ``rollback`` an unfinished one instead."""
    instance = Instance.objects.filter(domain=domain_key(domain)).first()
    if instance is None or instance.state != Instance.State.READY:
        raise CommandError(f"no instance with domain {domain!r}")
    if resume is not None or rollback is not None:
        job = ImportJob.objects.filter(instance=instance, pk=resume if resume is not None else rollback or 0).first()
        if job is None:
            raise CommandError("no such import of this instance")
        if rollback is not None:
            _rollback(job, out)
            return
        _check_resumable(job)
    elif not sources:
        raise CommandError("give an export's manifest URL or its zip parts (or --resume/--rollback ID)")
    else:
        try:
            job = imports.create_job(instance, sources, wipe=wipe, remote_any=True)
        except imports.ImportRunning as err:
            last = ImportJob.objects.filter(instance=instance, state__in=ImportJob.UNFINISHED).first()
            raise CommandError(f"{err} (--resume {last.pk if last else '?'} or --rollback ...)") from None
    with _bar(out) as (start, show):

        def watch(done: int, total: int) -> None:
            start(total)
            show(done)

        imports.run_import(job.pk, watch=watch)
    _report(ImportJob.objects.get(pk=job.pk), out)


def _check_resumable(job: ImportJob) -> None:
    if job.finished or not imports.is_stale(job):
        raise CommandError(f"import {job.pk} is {job.state}: nothing to resume")


def _rollback(job: ImportJob, out: IO[str]) -> None:
    try:
        done = imports.rollback(job)
    except imports.NotResumable as err:
        raise CommandError(f"cannot roll back: {err}") from None
    except OSError as err:
        raise CommandError(f"the rollback failed, try again: {sanitize_error(err)}") from None
    out.write(f"import {done.pk} rolled back: {len(done.contents):,} content(s) removed, the instance is as before\n")


def _report(job: ImportJob, out: IO[str]) -> None:
    if job.state == ImportJob.State.FAILED:
        raise CommandError(f"nothing imported: {job.error}")
    if job.state != ImportJob.State.DONE:
        raise CommandError(f"import {job.pk} {job.state}: {job.error}; the instance is unchanged: "
                           f"--resume {job.pk} to go on, --rollback {job.pk} to undo")  # fmt: skip
    files = Node.objects.filter(instance=job.instance, type="file").count()
    out.write(f"imported {files:,} files, {len(job.contents):,} contents ({human_bytes(job.bytes_total)}) "
              f"into {job.instance.domain}\n")  # fmt: skip


@contextlib.contextmanager
def _bar(out: IO[str]) -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    """(start(total), show(done)): a rich bar on a terminal, nothing otherwise."""
    if not out.isatty():
        yield (lambda total: None), (lambda n: None)
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("importing"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                  console=Console(file=out)) as bar:  # fmt: skip
        task = bar.add_task("import", total=None)
        yield (lambda total: bar.update(task, total=total)), (lambda n: bar.update(task, completed=n))
