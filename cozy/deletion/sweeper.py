"""Empty one store (everything of an instance): list a page of keys, delete them, report, repeat.

The next page is listed while up to ``parallel`` DeleteObjects requests (one
page each, at most 1000 keys) are in flight. Nothing is remembered between
pages but the counters the caller keeps, so after a crash the next run simply
lists what is left. The store refuses any listed key outside its prefix: a
server that ignored the prefix could never make us delete a neighbour's object.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from s3util.batch import DeleteError
from s3util.errors import S3NotFoundError
from vfs_s3.storage import Listed, S3Storage

log = logging.getLogger(__name__)

OnProgress = Callable[[int, int], None]  # (objects, bytes) just deleted


@dataclass
class PageResult:
    objects: int = 0
    bytes: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    error: OSError | None = None


def delete_page(store: S3Storage, page: list[Listed]) -> PageResult:
    """Runs in a pool thread: returns its outcome instead of raising."""
    try:
        store.delete_many(obj.name for obj in page)
        failed: dict[str, str] = {}
    except DeleteError as err:
        failed = dict(err.failures)
    except OSError as err:
        return PageResult(error=err)
    done = [obj.size for obj in page if obj.name not in failed]
    return PageResult(len(done), sum(done), list(failed.items()))


class _Pipeline:
    """Bounded in-flight deletions; results are reported in the caller's thread."""

    def __init__(self, pool: ThreadPoolExecutor, parallel: int, on_progress: OnProgress):
        self.pool, self.parallel, self.on_progress = pool, parallel, on_progress
        self.pending: deque[Future[PageResult]] = deque()
        self.failures: list[tuple[str, str]] = []
        self.error: OSError | None = None

    def submit(self, store: S3Storage, page: list[Listed]) -> None:
        self.pending.append(self.pool.submit(delete_page, store, page))
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


def sweep(store: S3Storage, on_progress: OnProgress, *, page_size: int = 1000, parallel: int = 4) -> None:
    """Delete every object of ``store`` and its unfinished uploads; raise OSError if any is left.

    ``on_progress`` runs in this thread after each page; what it raises stops
    the sweep (pages already sent are still settled and reported first).
    """
    pool = ThreadPoolExecutor(parallel, thread_name_prefix="cozy-deletion")
    pipeline = _Pipeline(pool, parallel, on_progress)
    try:
        for page in store.list_pages("", page_size):
            pipeline.submit(store, page)
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
    store.abort_uploads("")
