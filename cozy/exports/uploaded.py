"""Archives uploaded as a request body: one zip part, streamed into the instance's exports
area (``imports/<token>/part-1.zip``), then read by ranged GETs like an export's parts.

An import's source names such an object as ``upload:<name>``. Precheck removes it at once;
an import keeps it while it is unfinished (a stopped job resumes from it, and fsck keeps
it), and removes it once the job is done, failed or rolled back.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterable, Iterator

from cozy.exports.importer import ImportRefused, room_for
from cozy.exports.models import ImportJob
from cozy.files.content import Upload, body_chunks
from cozy.files.errors import PreconditionFailed, TooLarge, Unavailable
from cozy.files.slots import upload_slot
from cozy.instances.models import Instance
from cozy.storage.stores import store_for
from vfs_s3.errors import ChecksumMismatch, ObjectTooLarge
from vfs_s3.storage import S3Storage

PREFIX = "upload:"
FOLDER = "imports/"  # in the exports area, beside the exports' folders (their ids)
SLACK = 1024 * 1024  # zip headers and the metadata document, beyond the contents' bytes


def area(instance: Instance) -> S3Storage:
    return store_for(instance, "exports")


def is_uploaded(source: str) -> bool:
    return source.startswith(PREFIX)


def object_name(source: str) -> str:
    return source.removeprefix(PREFIX)


def store_archive(instance: Instance, upload: Upload, *, wipe: bool) -> str:
    """Stream the body into the exports area; the import source that names it. 413 early when
    it cannot fit (the quota, or the whole quota over a confirmed wipe), 412 on a Content-MD5
    mismatch, 503 when the store fails: nothing stays stored then."""
    room = room_for(instance, wipe=wipe)
    limit = None if room is None else room + SLACK
    if upload.length is not None and limit is not None and upload.length > limit:
        raise TooLarge("this archive is larger than the instance's quota")
    name = f"{FOLDER}{secrets.token_hex(12)}/part-1.zip"
    try:
        with upload_slot(instance):
            area(instance).put(name, body_chunks(upload, limit), length=upload.length,
                               expected_md5=upload.expected_md5, content_type="application/zip")  # fmt: skip
    except ChecksumMismatch:
        raise PreconditionFailed("the archive does not match its Content-MD5") from None
    except ObjectTooLarge:
        raise TooLarge("this archive is larger than the storage accepts") from None
    except OSError:
        raise Unavailable("the object storage is unavailable; nothing was stored") from None
    return PREFIX + name


def open_uploaded(instance: Instance, source: str):  # an S3File: seek, tell, read
    try:
        return area(instance).open(object_name(source))
    except FileNotFoundError:
        raise ImportRefused("the uploaded archive is no longer stored") from None


def remove(instance: Instance, sources: Iterable[str]) -> None:
    """The uploaded archives among ``sources``; a failure leaves them to fsck (unheld by then)."""
    names = [object_name(s) for s in sources if is_uploaded(s)]
    if names:
        with contextlib.suppress(OSError):
            area(instance).delete_many(names)


def held(instance: Instance) -> set[str]:
    """Exports-area names of the archives that the instance's unfinished imports read."""
    rows = ImportJob.objects.filter(instance=instance, state__in=ImportJob.UNFINISHED).values_list("sources", flat=True)
    return {object_name(s) for sources in rows for s in sources if is_uploaded(s)}


@contextlib.contextmanager
def removed_after(instance: Instance, source: str) -> Iterator[None]:
    try:
        yield
    finally:
        remove(instance, [source])
