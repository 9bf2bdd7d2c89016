"""Map S3 errors to Python ones, and strip them of anything secret.

A message that reaches a user or a log line never carries a bucket name, an
object key, an endpoint credential or a signed URL.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import ParseError

import urllib3.exceptions
from minio.error import MinioException, S3Error, ServerError

NOT_FOUND_CODES = {"NoSuchKey", "NoSuchBucket", "NoSuchUpload", "NotFound", "NoSuchObject"}


class S3NotFoundError(FileNotFoundError):
    """The object (or its bucket) does not exist."""


class StorageError(OSError):
    """A failure of the object store, its message already sanitized."""


class StorageUnavailable(StorageError):
    """The object store could not be reached or answered with a server error."""


def is_not_found(err: BaseException) -> bool:
    if isinstance(err, FileNotFoundError):
        return True
    if isinstance(err, S3Error):
        if err.code in NOT_FOUND_CODES:
            return True
        response = getattr(err, "response", None)
        return getattr(response, "status", None) == 404
    if isinstance(err, ServerError):
        return err.status_code == 404
    return False


# S3 error codes are short CamelCase words; anything else the store sent is not repeated.
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9.]{0,63}")


def safe_code(code: object) -> str:
    """The store's error code if it looks like one, else a placeholder: a hostile or broken
    store could put a signed URL or a credential in that field."""
    text = str(code or "")
    return text if _CODE.fullmatch(text) else "UnrecognizedErrorCode"


def sanitize_error(err: BaseException) -> str:
    """A short message safe for users and logs."""
    if isinstance(err, (StorageError, S3NotFoundError)):
        return str(err)  # made here, from nothing the store sent but an error code
    if isinstance(err, S3Error):
        return f"object storage error: {safe_code(err.code)}"
    if isinstance(err, ServerError):
        return f"object storage server error: HTTP {int(err.status_code)}"
    if isinstance(err, (ParseError, UnicodeDecodeError)):
        return "object storage sent a malformed reply"
    if isinstance(err, (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError)):
        return "object storage unreachable"
    if isinstance(err, MinioException):
        return "object storage error"
    return _scrub(f"{type(err).__name__}: {err}")


_URLISH = re.compile(r"\S*(https?://|s3://|X-Amz-|access_key|secret_key)\S*", re.I)


def _scrub(text: str) -> str:
    return _URLISH.sub("<redacted>", text)[:300]


def wrap_not_found(err: BaseException) -> BaseException:
    """Return the exception to raise for ``err``: not-found and outages mapped, all sanitized."""
    if is_not_found(err):
        return S3NotFoundError("object not found")
    if isinstance(err, S3Error):
        return StorageError(sanitize_error(err))
    return StorageUnavailable(sanitize_error(err))


TRANSPORT_ERRORS = (
    MinioException,
    ParseError,  # malformed or truncated XML from the store
    UnicodeDecodeError,  # an XML reply that is not UTF-8
    urllib3.exceptions.HTTPError,
    ConnectionError,
    TimeoutError,
)
