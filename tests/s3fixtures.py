"""S3 fixtures: a real S3 endpoint for the session, a bucket prefix per test.

A plugin of its own, so that the storage contract suite also runs outside this
project, beside the installed wheel (scripts/check_wheel).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from minio import Minio

from s3util import S3Config, make_client
from tests.s3servers import s3_endpoint


@pytest.fixture(scope="session")
def s3_server() -> Iterator[tuple[S3Config, object]]:
    """(config, server handle or None) of the session's S3 endpoint."""
    with s3_endpoint() as endpoint:
        yield endpoint


@pytest.fixture
def s3_config(s3_server) -> S3Config:
    """The endpoint with a bucket prefix of this test's own."""
    config, _ = s3_server
    return config.with_prefix("t" + secrets.token_hex(5))


@pytest.fixture
def s3_client(s3_config) -> Iterator[Minio]:
    client = make_client(s3_config)
    yield client
    _cleanup(client, s3_config.bucket_prefix)


def _cleanup(client: Minio, prefix: str) -> None:
    """Remove the buckets this test made (best effort; each test has its own prefix)."""
    from s3util import delete_objects

    try:
        buckets = [b.name for b in client.list_buckets() if b.name.startswith(prefix + "-")]
    except Exception:  # noqa: BLE001 - the server may have been stopped by the test
        return
    for bucket in buckets:
        try:
            for upload in client._list_multipart_uploads(bucket).uploads:
                client._abort_multipart_upload(bucket, upload.object_name, upload.upload_id)
            keys = (o.object_name for o in client.list_objects(bucket, recursive=True))
            delete_objects(client, bucket, keys)
            client.remove_bucket(bucket)
        except Exception:  # noqa: BLE001 - cleanup only, the test verdict is already in
            pass


@pytest.fixture
def fs_url(s3_config, settings) -> str:
    """COZY_FS_URL for this test, set in Django settings too."""
    url = s3_config.to_url()
    settings.COZY_FS_URL = url
    os.environ["COZY_TEST_FS_URL"] = url
    return url


