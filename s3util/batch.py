"""Delete many objects: DeleteObjects requests of at most 1000 keys each."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from minio import Minio
from minio.deleteobjects import DeleteObject

from s3util.errors import safe_code

MAX_KEYS_PER_REQUEST = 1000


class DeleteError(OSError):
    """Some keys could not be deleted; ``failures`` holds (key, code) pairs.

    The message gives only the count and the error codes, never the keys.
    """

    def __init__(self, failures: list[tuple[str, str]]):
        self.failures = failures
        codes = sorted({code for _, code in failures})
        super().__init__(f"{len(failures)} object(s) could not be deleted: {', '.join(codes)}")


@dataclass
class DeleteStats:
    objects: int = 0
    bytes: int = 0


def _chunks(keys: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(keys)
    while batch := list(itertools.islice(it, size)):
        yield batch


def delete_objects(client: Minio, bucket: str, keys: Iterable[str]) -> int:
    """Delete ``keys``; raise :class:`DeleteError` listing every failed key.

    Every batch is attempted even when an earlier one had failures, so one bad
    key never leaves the others behind. Returns the number of keys sent.
    """
    failures: list[tuple[str, str]] = []
    sent = 0
    for batch in _chunks(keys, MAX_KEYS_PER_REQUEST):
        sent += len(batch)
        errors = client.remove_objects(bucket, [DeleteObject(k) for k in batch])
        # remove_objects is lazy: iterating it sends the request.
        failures.extend((e.name or "", safe_code(e.code)) for e in errors if e.code != "NoSuchKey")
    if failures:
        raise DeleteError(failures)
    return sent


def check_prefix(prefix: str) -> None:
    if not prefix or not prefix.endswith("/") or prefix.startswith("/"):
        raise ValueError("refusing to delete by a prefix that is empty or lacks its trailing '/'")


def delete_prefix_objects(client: Minio, bucket: str, prefix: str) -> DeleteStats:
    """Delete every object under ``prefix`` (which must end with '/')."""
    check_prefix(prefix)
    stats = DeleteStats()

    def keys() -> Iterator[str]:
        for obj in client.list_objects(bucket, prefix=prefix, recursive=True):
            stats.objects += 1
            stats.bytes += obj.size or 0
            yield obj.object_name

    delete_objects(client, bucket, keys())
    return stats
