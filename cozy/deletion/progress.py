"""Follow a deletion job from the command line: a rich progress bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import IO

from cozy.deletion.models import DeletionJob

POLL_SECONDS = 0.5
PLAIN_EVERY = 2.0  # seconds between plain lines, when something changed
NO_WORKER_HINT_AFTER = 15.0


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def describe(job: DeletionJob) -> str:
    return f"{job.objects_deleted:,} objects, {human_bytes(job.bytes_freed)} freed"


def status_line(job: DeletionJob) -> str:
    line = f"{job.domain}: {job.state}, {job.get_phase_display()}, {describe(job)}"
    if job.last_error and job.state != DeletionJob.State.DONE:
        line += f" (last error: {job.last_error})"
    return line


def _poll(job_id: int, show: Callable[[DeletionJob], None], stream: IO[str]) -> DeletionJob:
    waited_queued, hinted = time.monotonic(), False
    while True:
        job = DeletionJob.objects.get(pk=job_id)
        show(job)
        if job.finished:
            return job
        waiting = time.monotonic() - waited_queued > NO_WORKER_HINT_AFTER
        if job.state == DeletionJob.State.QUEUED and waiting and not hinted:
            stream.write("no worker has picked the job up yet: is a Celery worker running?\n")
            hinted = True
        time.sleep(POLL_SECONDS)


def follow_plain(job_id: int, stream: IO[str]) -> DeletionJob:
    last: dict[str, object] = {"line": None, "at": 0.0}

    def show(job: DeletionJob) -> None:
        line = status_line(job)
        now = time.monotonic()
        if line != last["line"] and (job.finished or now - float(last["at"]) >= PLAIN_EVERY):  # type: ignore[arg-type]
            stream.write(line + "\n")
            stream.flush()
            last.update(line=line, at=now)

    return _poll(job_id, show, stream)


def follow_rich(job_id: int, stream: IO[str]) -> DeletionJob:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[counts]}"), TimeElapsedColumn())
    with Progress(*columns, console=Console(file=stream), transient=False) as bar:
        task = bar.add_task("queued", total=None, counts="")

        def show(job: DeletionJob) -> None:
            total = max(job.expected_objects, job.objects_deleted) or None
            done = total if job.state == DeletionJob.State.DONE else job.objects_deleted
            label = job.state if job.state != DeletionJob.State.RUNNING else job.get_phase_display()
            bar.update(task, description=label, total=total, completed=done, counts=describe(job))

        return _poll(job_id, show, stream)


def follow(job_id: int, stream: IO[str]) -> DeletionJob:
    """Show the job until it is done or failed; returns it as it ended."""
    isatty = getattr(stream, "isatty", None)
    if callable(isatty) and isatty():
        return follow_rich(job_id, stream)
    return follow_plain(job_id, stream)
