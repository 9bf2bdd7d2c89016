"""Plain-Python helpers over the minio SDK, shared by every S3-backed area.

No Django here: fs-URL parsing, client construction, bucket naming and
creation, batched deletion and error mapping.
"""

from s3util.batch import DeleteError, delete_objects, delete_prefix_objects
from s3util.buckets import ensure_bucket
from s3util.client import make_client
from s3util.config import FsUrlError, S3Config, parse_fs_url
from s3util.errors import (
    S3NotFoundError,
    StorageUnavailable,
    is_not_found,
    sanitize_error,
    wrap_not_found,
)
from s3util.naming import RESERVED_KINDS, bucket_name, system_bucket

__all__ = [
    "RESERVED_KINDS",
    "DeleteError",
    "FsUrlError",
    "S3Config",
    "S3NotFoundError",
    "StorageUnavailable",
    "bucket_name",
    "delete_objects",
    "delete_prefix_objects",
    "ensure_bucket",
    "is_not_found",
    "make_client",
    "parse_fs_url",
    "sanitize_error",
    "system_bucket",
    "wrap_not_found",
]
