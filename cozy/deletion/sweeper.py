"""Empty one storage area: list a page of keys, DeleteObjects them, report, repeat.

The next page is listed while up to ``parallel`` DeleteObjects requests (one
page each, at most 1000 keys) are in flight. Nothing is remembered between
pages but the counters the caller keeps, so after a crash the next run simply
lists what is left. Every key is checked against the area's prefix before it
is sent: a server that ignored the prefix could never make us delete a
neighbour's object.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from minio import Minio

from cozy.deletion.areas import Area
from s3util.batch import DeleteError, check_prefix, delete_objects
from s3util.errors import TRANSPORT_ERRORS, S3NotFoundError, wrap_not_found

log = logging.getLogger(__name__)

Page = list[tuple[str, int]]  # (key, size)
OnProgress = Callable[[int, int], None]  # (objects, bytes) just deleted


class KeyOutsideArea(RuntimeError):
    """The server listed a key outside the prefix asked for; nothing more is deleted."""


@dataclass
class PageResult:
    objects: int = 0
    bytes: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    error: OSError | None = None


def storage_error(err: BaseException) -> OSError:
    """The sanitized OSError for a minio/urllib3 error (no bucket, key or credential in it)."""
    wrapped = wrap_not_found(err)
    return wrapped if isinstance(wrapped, OSError) else OSError(str(wrapped))


def list_pages(client: Minio, area: Area, page_size: int) -> Iterator[Page]:
    check_prefix(area.prefix)
    listing = client.list_objects(area.bucket, prefix=area.prefix, recursive=True)
    try:
        while chunk := list(itertools.islice(listing, page_size)):
            for obj in chunk:
                if not obj.object_name.startswith(area.prefix):
                    raise KeyOutsideArea(f"the server listed a key outside storage area {area.name!r}")
            yield [(obj.object_name, obj.size or 0) for obj in chunk]
    except TRANSPORT_ERRORS as err:
        raise storage_error(err) from None


def delete_page(client: Minio, bucket: str, page: Page) -> PageResult:
    """Runs in a pool thread: returns its outcome instead of raising."""
    try:
        delete_objects(client, bucket, [key for key, _ in page])
        failed: dict[str, str] = {}
    except DeleteError as err:
        failed = dict(err.failures)
    except TRANSPORT_ERRORS as err:
        return PageResult(error=storage_error(err))
    done = [size for key, size in page if key not in failed]
    return PageResult(len(done), sum(done), list(failed.items()))


class _Pipeline:
    """Bounded in-flight deletions; results are reported in the caller's thread."""

    def __init__(self, pool: ThreadPoolExecutor, parallel: int, on_progress: OnProgress):
        self.pool, self.parallel, self.on_progress = pool, parallel, on_progress
        self.pending: deque[Future[PageResult]] = deque()
        self.failures: list[tuple[str, str]] = []
        self.error: OSError | None = None

    def submit(self, client: Minio, bucket: str, page: Page) -> None:
        self.pending.append(self.pool.submit(delete_page, client, bucket, page))
        while len(self.pending) >= self.parallel:
            self._settle(self.pending.popleft())

    def drain(self) -> None:
        while self.pending:
            self._settle(self.pending.popleft())

    def _settle(self, future: Future[PageResult]) -> None:
        result = future.result()
        self.failures.extend(result.failures)
        self.error = self.error or result.error
        if result.objects:
            self.on_progress(result.objects, result.bytes)


def abort_uploads(client: Minio, area: Area) -> int:
    """Abort the unfinished multipart uploads under the area: their parts are bytes too.

    An upload that is gone by the time we abort it (finished or aborted meanwhile)
    is skipped, not taken for a missing bucket. If any upload is still listed at the
    end, raise OSError: the job retries rather than say it is done.
    """
    aborted, key_marker, upload_marker = 0, None, None
    while (result := _list_uploads(client, area, key_marker, upload_marker)) is not None:
        for upload in result.uploads:
            if upload.object_name.startswith(area.prefix) and _abort(client, area, upload):
                aborted += 1
        if not result.is_truncated:
            break
        # minio 7.2 stores NextUploadIdMarker under a misspelt attribute name.
        key_marker = result.next_key_marker
        upload_marker = result.next_upload_id_marker or getattr(result, "self._next_upload_id_marker", None)
    left = _list_uploads(client, area, None, None)
    if left is not None and any(u.object_name.startswith(area.prefix) for u in left.uploads):
        raise OSError("unfinished uploads are still listed under the instance's prefix")
    return aborted


def _list_uploads(client: Minio, area: Area, key_marker: str | None, upload_marker: str | None):
    """A page of uploads under the area's prefix; None when the bucket does not exist."""
    try:
        return client._list_multipart_uploads(
            area.bucket, prefix=area.prefix, key_marker=key_marker, upload_id_marker=upload_marker
        )
    except TRANSPORT_ERRORS as err:
        wrapped = storage_error(err)
        if isinstance(wrapped, S3NotFoundError):
            return None
        raise wrapped from None


def _abort(client: Minio, area: Area, upload) -> bool:
    """Abort one upload; False when it was already gone."""
    try:
        client._abort_multipart_upload(area.bucket, upload.object_name, upload.upload_id)
    except TRANSPORT_ERRORS as err:
        wrapped = storage_error(err)
        if isinstance(wrapped, S3NotFoundError):
            return False
        raise wrapped from None
    return True


def sweep(client: Minio, area: Area, on_progress: OnProgress, *, page_size: int = 1000, parallel: int = 4) -> None:
    """Delete every object under ``area.prefix``; raise OSError if any is left.

    ``on_progress`` runs in this thread after each page; what it raises stops
    the sweep (pages already sent are still settled and reported first).
    """
    pool = ThreadPoolExecutor(parallel, thread_name_prefix="cozy-deletion")
    pipeline = _Pipeline(pool, parallel, on_progress)
    try:
        for page in list_pages(client, area, page_size):
            pipeline.submit(client, area.bucket, page)
            if pipeline.error:
                break  # the store is failing: do not keep listing
    except S3NotFoundError:
        pass  # no bucket, so nothing of this instance in it
    finally:
        try:
            pipeline.drain()
        finally:
            pool.shutdown(wait=True)
    if pipeline.error:
        raise pipeline.error
    if pipeline.failures:
        raise DeleteError(pipeline.failures)
    abort_uploads(client, area)
