"""The ETag a write reports is the stored object's, whatever the completion answer said.

Ceph Pacific answers CompleteMultipartUpload with an empty ETag (HEAD has the
right one): the writer must not hand that empty value on.
"""

from __future__ import annotations

import hashlib

import pytest

from s3util import bucket_name, ensure_bucket
from vfs_s3.writer import S3Writer, WriteOptions

pytestmark = pytest.mark.s3contract
MiB = 1024 * 1024
SMALL = WriteOptions(threshold=5 * MiB, part_size=5 * MiB, parallel_parts=2)


@pytest.fixture
def bucket(s3_client, s3_config) -> str:
    name = bucket_name(s3_config.bucket_prefix, "etag")
    ensure_bucket(s3_client, name)
    return name


@pytest.mark.parametrize("with_expected_md5", [True, False], ids=["expected-md5", "no-expected-md5"])
def test_multipart_write_reports_the_stored_etag(s3_client, bucket, with_expected_md5):
    data = bytes(range(256)) * (11 * MiB // 256)  # three parts
    md5 = hashlib.md5(data).hexdigest()
    writer = S3Writer(s3_client, bucket, "big", expected_md5=md5 if with_expected_md5 else None, options=SMALL)
    writer.write(data)
    result = writer.close()
    stat = s3_client.stat_object(bucket, "big")
    assert result.etag and result.etag == stat.etag
    assert (result.size, result.md5) == (len(data), md5)
    if with_expected_md5:
        assert result.etag.endswith("-3")  # no copy: still the multipart ETag of three parts
