"""``manage.py instances export <domain> [--wait]``: queue an export, follow it, print its URL."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import IO

from django.conf import settings
from django.core.management.base import CommandError

from cozy.exports.models import Export
from cozy.exports.services import ExportRunning, request_export, token_for
from cozy.instances.hosts import domain_key
from cozy.instances.models import Instance

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


def import_into(domain: str, sources: list[str], *, out: IO[str]) -> None:
    """Import in this process (the parts are read from the store or local files, never copied)."""
    from cozy.exports.importer import ImportRefused, import_parts
    from cozy.exports.sources import opened_parts
    from s3util import sanitize_error

    instance = Instance.objects.filter(domain=domain_key(domain)).first()
    if instance is None or instance.state != Instance.State.READY:
        raise CommandError(f"no instance with domain {domain!r}")
    try:
        with opened_parts(sources) as parts, _bar(out) as (start, advance):
            plan = import_parts(instance, parts, progress=advance, on_plan=lambda p: start(p.total_bytes))
    except ImportRefused as err:
        raise CommandError(f"nothing imported: {err}") from None
    except OSError as err:
        raise CommandError(f"nothing imported: {sanitize_error(err)}") from None
    files = sum(1 for n in plan.nodes if n["type"] == "file")
    out.write(f"imported {files:,} files, {len(plan.pieces):,} contents ({human_bytes(plan.total_bytes)}) "
              f"into {instance.domain}\n")  # fmt: skip


@contextlib.contextmanager
def _bar(out: IO[str]) -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    """(start(total), advance(n)): a rich bar on a terminal, nothing otherwise."""
    if not out.isatty():
        yield (lambda total: None), (lambda n: None)
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("importing"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                  console=Console(file=out)) as bar:  # fmt: skip
        task = bar.add_task("import", total=None)
        yield (lambda total: bar.update(task, total=total)), (lambda n: bar.advance(task, n))
