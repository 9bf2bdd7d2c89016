"""Unfinished multipart uploads under a prefix: their parts are stored bytes too."""

from __future__ import annotations

from minio import Minio

from s3util.errors import TRANSPORT_ERRORS, S3NotFoundError, wrap_not_found


def abort_uploads(client: Minio, bucket: str, prefix: str) -> int:
    """Abort every unfinished upload under ``prefix``; returns how many were aborted.

    An upload that is gone by the time we abort it (finished or aborted meanwhile)
    is skipped, not taken for a missing bucket. If any upload is still listed at the
    end, raise OSError: a caller that must leave nothing (instance deletion) retries
    rather than say it is done. A missing bucket has no uploads.
    """
    aborted, key_marker, upload_marker = 0, None, None
    while (result := _list(client, bucket, prefix, key_marker, upload_marker)) is not None:
        for upload in result.uploads:
            if upload.object_name.startswith(prefix) and _abort(client, bucket, upload):
                aborted += 1
        if not result.is_truncated:
            break
        # minio 7.2 stores NextUploadIdMarker under a misspelt attribute name.
        key_marker = result.next_key_marker
        upload_marker = result.next_upload_id_marker or getattr(result, "self._next_upload_id_marker", None)
    left = _list(client, bucket, prefix, None, None)
    if left is not None and any(u.object_name.startswith(prefix) for u in left.uploads):
        raise OSError("unfinished uploads are still listed under the prefix")
    return aborted


def _list(client: Minio, bucket: str, prefix: str, key_marker: str | None, upload_marker: str | None):
    """A page of uploads under the prefix; None when the bucket does not exist."""
    try:
        return client._list_multipart_uploads(
            bucket, prefix=prefix, key_marker=key_marker, upload_id_marker=upload_marker
        )
    except TRANSPORT_ERRORS as err:
        wrapped = wrap_not_found(err)
        if isinstance(wrapped, S3NotFoundError):
            return None
        raise wrapped from None


def _abort(client: Minio, bucket: str, upload) -> bool:
    """Abort one upload; False when it was already gone."""
    try:
        client._abort_multipart_upload(bucket, upload.object_name, upload.upload_id)
    except TRANSPORT_ERRORS as err:
        wrapped = wrap_not_found(err)
        if isinstance(wrapped, S3NotFoundError):
            return False
        raise wrapped from None
    return True
