"""Errors raised by the storage backend, and the mapping from S3 failures."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from s3util.errors import TRANSPORT_ERRORS, wrap_not_found


class ChecksumMismatch(ValueError):
    """The content's MD5 differs from the one the caller expected; nothing was stored."""


class ObjectChanged(OSError):
    """The object was overwritten while it was being read; read it again from the start."""


class WrongRange(OSError):
    """The store answered a ranged GET with other bytes than those asked (it ignored Range)."""


class ObjectTooLarge(ValueError):
    """The content needs more than S3's 10,000 parts at the configured part size."""


@contextlib.contextmanager
def s3_errors() -> Iterator[None]:
    """Turn minio and transport errors into FileNotFoundError / OSError, sanitized."""
    try:
        yield
    except TRANSPORT_ERRORS as err:
        raise wrap_not_found(err) from None
