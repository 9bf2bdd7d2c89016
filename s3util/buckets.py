"""Create buckets idempotently, with an abort-incomplete-uploads lifecycle rule."""

from __future__ import annotations

import logging

from minio import Minio
from minio.commonconfig import ENABLED, Filter
from minio.error import S3Error
from minio.lifecycleconfig import AbortIncompleteMultipartUpload, LifecycleConfig, Rule

log = logging.getLogger(__name__)
_ALREADY = {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}


def ensure_bucket(client: Minio, bucket: str, region: str | None = None) -> bool:
    """Make sure ``bucket`` exists. Returns True when this call created it.

    Safe when several processes race: losing the race is not an error.
    """
    created = False
    if not client.bucket_exists(bucket):
        try:
            client.make_bucket(bucket, location=region if region != "us-east-1" else None)
            created = True
        except S3Error as err:
            if err.code not in _ALREADY:
                raise
    if created:
        _set_abort_rule(client, bucket)
    return created


def _set_abort_rule(client: Minio, bucket: str) -> None:
    """A crash mid-upload must not leave hidden parts forever; best effort."""
    rule = Rule(
        ENABLED,
        rule_filter=Filter(prefix=""),
        rule_id="cozy-abort-incomplete-uploads",
        abort_incomplete_multipart_upload=AbortIncompleteMultipartUpload(1),
    )
    try:
        client.set_bucket_lifecycle(bucket, LifecycleConfig([rule]))
    except S3Error as err:
        # Some servers refuse it (MinIO; SeaweedFS 4.48 and Ceph 16 take it: docs/s3.md): fsck and
        # the lifecycle of the server then have to cover that case.
        log.info("bucket lifecycle not supported by the server (%s)", err.code)
