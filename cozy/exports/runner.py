"""Run one export: snapshot, write every part, check each, then mark it done.

Each run writes under a fresh attempt folder, ``<export_id>/<attempt>/``, and
first removes what earlier attempts left (a worker killed mid-export, then the
message delivered again). The export is done only once every part was stored
and checked (its size and MD5, against what was streamed); on any failure the
attempt's parts are removed and its unfinished uploads aborted, so nothing
half-written stays visible. Every state change is conditioned on the attempt:
a superseded runner can neither finish nor fail the export.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Iterator
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from cozy.exports import config
from cozy.exports.archive import PartWriter, plan_parts
from cozy.exports.models import Export
from cozy.exports.snapshot import take
from cozy.storage.stores import store_for
from s3util import sanitize_error
from vfs_s3.storage import S3Storage
from vfs_s3.writer import MAX_PARTS, MIN_PART_SIZE

log = logging.getLogger("cozy.exports")
PROGRESS_EVERY = 1.0  # seconds between progress writes to the row
MiB = 1024 * 1024


class ExportBusy(Exception):
    """Another runner is alive on this export: try again once its heartbeat is stale."""


class PartCheckFailed(OSError):
    """A stored part is not what was streamed."""


def exports_store(export: Export) -> S3Storage:
    return store_for(export.instance, "exports")


def _start(export_id: str) -> tuple[Export, str] | None:
    """Take the export for a new attempt; None if it is finished already."""
    with transaction.atomic():
        export = Export.objects.select_for_update().select_related("instance").filter(pk=export_id).first()
        if export is None or export.finished:
            return None
        fresh = timezone.now() - timedelta(seconds=config.stale_seconds())
        if export.state == Export.State.RUNNING and export.heartbeat_at and export.heartbeat_at > fresh:
            raise ExportBusy(export_id)
        attempt = secrets.token_hex(8)
        now = timezone.now()
        Export.objects.filter(pk=export_id).update(
            state=Export.State.RUNNING, attempt=attempt, started_at=now, heartbeat_at=now, parts=[],
            files_done=0, bytes_done=0, error="",
        )  # fmt: skip
        export.refresh_from_db()
    return export, attempt


def remove_objects(store: S3Storage, prefix: str) -> None:
    """Every object and unfinished upload under ``prefix`` (a folder of the exports area)."""
    store.abort_uploads(prefix)
    store.delete_many([obj.name for obj in store.list(prefix)])


def _mine(export: Export, attempt: str):
    return Export.objects.filter(pk=export.pk, attempt=attempt, state=Export.State.RUNNING)


class Progress:
    def __init__(self, export: Export, attempt: str):
        self.rows = _mine(export, attempt)
        self.files = self.bytes = 0
        self.written_at = 0.0

    def __call__(self, files: int, nbytes: int) -> None:
        self.files += files
        self.bytes += nbytes
        if time.monotonic() - self.written_at >= PROGRESS_EVERY:
            self.flush()

    def flush(self) -> None:
        self.written_at = time.monotonic()
        self.rows.update(files_done=self.files, bytes_done=self.bytes, heartbeat_at=timezone.now())


def upload_store(store: S3Storage, content_bytes: int, entries: int) -> S3Storage:
    """The exports store, with the smallest multipart parts that still fit a zip part of about
    ``content_bytes`` in S3's 10,000 parts (with room for the headers of ``entries`` and their
    metadata records), and
    few of them in flight: what a worker holds while it uploads is (in flight + 1) parts."""
    room = content_bytes + entries * 4096 + MiB  # headers, central directory, metadata records
    size = max(MIN_PART_SIZE, -(-room // (MAX_PARTS - 1000)))
    size = -(-size // MiB) * MiB
    return store.with_options(part_size=size, multipart_threshold=size, parallel_parts=config.upload_parts_in_flight())


def _store_part(store: S3Storage, name: str, chunks: Iterator[bytes]) -> dict:
    """Store one part; its size and MD5 are the writer's (one hashing pass over the part),
    checked against what the store then holds."""
    result = store.put(name, chunks, content_type="application/zip")
    info = store.info(name)
    # A part over 5 GiB cannot be copied to record its MD5 in its metadata: the size then.
    if info.size != result.size or info.md5 not in (None, result.md5):
        raise PartCheckFailed("a stored export part differs from what was written")
    return {"size": result.size, "md5": result.md5}


def _write(export: Export, attempt: str) -> list[dict]:
    snapshot = take(export.instance)
    _mine(export, attempt).update(files_total=len(snapshot.contents),
                                  bytes_total=sum(c.size for c in snapshot.contents))  # fmt: skip
    progress = Progress(export, attempt)
    writer = PartWriter(snapshot, store_for(export.instance, "files"), store_for(export.instance, "avatar"), progress,
                        pause=config.pause_seconds())  # fmt: skip
    store = exports_store(export)
    planned = plan_parts(snapshot.contents, config.part_size())
    parts = []
    for n, contents in enumerate(planned, start=1):
        body = writer.part(n, contents, last=n == len(planned))
        sized = upload_store(store, sum(c.size for c in contents), len(snapshot.contents))
        parts.append({"n": n, **_store_part(sized, export.part_name(n, attempt), body)})
        progress.flush()
    return parts


def run_export(export_id: str) -> str:
    """The task's body: the state the export ended in (or was already in)."""
    started = _start(export_id)
    if started is None:
        return "finished"
    export, attempt = started
    store = exports_store(export)
    remove_objects(store, f"{export.pk}/")  # earlier attempts
    try:
        parts = _write(export, attempt)
    except Exception as err:  # noqa: BLE001 - any failure fails the export, cleanly and said why
        with contextlib.suppress(OSError):
            remove_objects(store, f"{export.pk}/{attempt}/")
        _mine(export, attempt).update(state=Export.State.FAILED, error=sanitize_error(err), finished_at=timezone.now())
        log.warning("export %s failed: %s", export.pk, sanitize_error(err))
        return Export.State.FAILED
    if not _mine(export, attempt).update(state=Export.State.DONE, parts=parts, finished_at=timezone.now()):
        remove_objects(store, f"{export.pk}/{attempt}/")  # superseded meanwhile: the new attempt owns it
        return "superseded"
    log.info("export %s done: %d part(s)", export.pk, len(parts))
    return Export.State.DONE
