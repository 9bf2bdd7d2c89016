"""What each S3 server checks and does differently: the facts behind docs/s3.md ("Choosing an S3 provider").

Each test asks the server one question and compares its answer with the one
recorded for that server (``COZY_TEST_S3``). A server that changes its answer
fails the test, so the table in the docs stays true. Servers with no recorded
answer (MinIO, an existing endpoint) are skipped with what they answered.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest
from minio import Minio
from minio.commonconfig import ENABLED, REPLACE, CopySource, Filter
from minio.datatypes import Part
from minio.error import S3Error
from minio.lifecycleconfig import AbortIncompleteMultipartUpload, LifecycleConfig, Rule

from s3util import bucket_name, make_client
from tests.s3servers import server_kind

pytestmark = pytest.mark.s3contract
MiB = 1024 * 1024
DATA = b"provider facts\n"
WRONG_MD5 = base64.b64encode(hashlib.md5(b"other bytes").digest()).decode()


def expect(answers: dict[str, object], got: object) -> None:
    want = answers.get(server_kind())
    if want is None:
        pytest.skip(f"no recorded answer for COZY_TEST_S3={server_kind()}; this server answered {got!r}")
    assert got == want


def answer(call: Callable[[], object]) -> object:
    """The S3 error code of ``call``, or "ok"."""
    try:
        call()
    except S3Error as err:
        return err.code
    return "ok"


@pytest.fixture
def bucket(s3_client: Minio, s3_config) -> str:
    name = bucket_name(s3_config.bucket_prefix, "facts")
    s3_client.make_bucket(name)
    return name


def multipart(client: Minio, bucket: str, key: str) -> str:
    """A completed two-part object; returns the ETag of the completion answer."""
    upload = client._create_multipart_upload(bucket, key, {})
    first = client._upload_part(bucket, key, b"a" * (5 * MiB), {}, upload, 1)
    second = client._upload_part(bucket, key, b"tail", {}, upload, 2)
    return client._complete_multipart_upload(bucket, key, upload, [Part(1, first), Part(2, second)]).etag or ""


def test_put_with_a_wrong_content_md5(s3_client, bucket):
    got = answer(lambda: s3_client._put_object(bucket, "k", DATA, {"Content-MD5": WRONG_MD5}))
    stored = answer(lambda: s3_client.stat_object(bucket, "k"))
    expect({"seaweedfs": ("BadDigest", "NoSuchKey"), "ceph": ("BadDigest", "NoSuchKey"), "moto": ("ok", "ok")},
           (got, stored))


def test_put_with_a_malformed_content_md5(s3_client, bucket):
    short = base64.b64encode(b"12 bytes, no").decode()  # base64, but no 16-byte digest
    got = tuple(answer(lambda value=value: s3_client._put_object(bucket, "k", DATA, {"Content-MD5": value}))
                for value in (short, "not*base64"))
    expect({"seaweedfs": ("BadDigest", "InvalidDigest"), "ceph": ("InvalidDigest", "AccessDenied"),
            "moto": ("ok", "ok")}, got)


def test_upload_part_with_a_wrong_content_md5(s3_client, bucket):
    upload = s3_client._create_multipart_upload(bucket, "k", {})
    got = answer(lambda: s3_client._upload_part(bucket, "k", DATA, {"Content-MD5": WRONG_MD5}, upload, 1))
    s3_client._abort_multipart_upload(bucket, "k", upload)
    expect({"seaweedfs": "BadDigest", "ceph": "BadDigest", "moto": "ok"}, got)


def test_etag_of_the_complete_multipart_upload_answer(s3_client, bucket):
    completed = multipart(s3_client, bucket, "mp")
    stored = s3_client.stat_object(bucket, "mp").etag
    assert stored.endswith("-2")  # every server: MD5 of the part MD5s, then the part count
    expect({"seaweedfs": "same as HEAD", "moto": "same as HEAD", "ceph": "empty"},
           "same as HEAD" if completed == stored else ("empty" if not completed else completed))


def test_etag_after_copying_a_multipart_object_onto_itself(s3_client, bucket):
    before = multipart(s3_client, bucket, "mp") or s3_client.stat_object(bucket, "mp").etag
    md5 = hashlib.md5(b"a" * (5 * MiB) + b"tail").hexdigest()
    s3_client.copy_object(bucket, "mp", CopySource(bucket, "mp"), metadata={"x-amz-meta-md5": md5},
                          metadata_directive=REPLACE)
    after = s3_client.stat_object(bucket, "mp").etag
    expect({"seaweedfs": "multipart ETag kept", "ceph": "multipart ETag kept", "moto": "MD5"},
           "MD5" if after == md5 else ("multipart ETag kept" if after == before else after))


def test_part_under_5_mib_refused_at_completion(s3_client, bucket):
    upload = s3_client._create_multipart_upload(bucket, "small", {})
    first = s3_client._upload_part(bucket, "small", b"x" * 1000, {}, upload, 1)
    second = s3_client._upload_part(bucket, "small", b"y", {}, upload, 2)
    got = answer(lambda: s3_client._complete_multipart_upload(bucket, "small", upload,
                                                              [Part(1, first), Part(2, second)]))
    s3_client._abort_multipart_upload(bucket, "small", upload)
    expect({"seaweedfs": "EntityTooSmall", "ceph": "EntityTooSmall", "moto": "EntityTooSmall"}, got)


def test_aborting_an_upload_twice(s3_client, bucket):
    upload = s3_client._create_multipart_upload(bucket, "k", {})
    s3_client._abort_multipart_upload(bucket, "k", upload)
    got = answer(lambda: s3_client._abort_multipart_upload(bucket, "k", upload))
    expect({"seaweedfs": "ok", "ceph": "NoSuchUpload", "moto": "NoSuchUpload"}, got)


def test_request_signatures(s3_client, s3_config, bucket):
    wrong_secret = make_client(dataclasses.replace(s3_config, secret_key="not-the-secret"))
    unknown_key = make_client(dataclasses.replace(s3_config, access_key="nobody"))
    got = (answer(lambda: list(wrong_secret.list_objects(bucket))), answer(unknown_key.list_buckets))
    checked = ("SignatureDoesNotMatch", "InvalidAccessKeyId")
    expect({"seaweedfs": checked, "ceph": checked, "moto": ("ok", "ok")}, got)


def _http_get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def test_presigned_get_and_a_tampered_one(s3_client, bucket):
    s3_client.put_object(bucket, "shared", io.BytesIO(DATA), len(DATA))
    url = s3_client.presigned_get_object(bucket, "shared")
    tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    expect({"seaweedfs": (200, 403), "ceph": (200, 403), "moto": (200, 200)}, (_http_get(url), _http_get(tampered)))


def test_deleting_a_bucket_that_still_holds_objects(s3_client, bucket):
    s3_client.put_object(bucket, "kept", io.BytesIO(DATA), len(DATA))
    got = answer(lambda: s3_client.remove_bucket(bucket))
    expect({"seaweedfs": "ok", "ceph": "BucketNotEmpty", "moto": "BucketNotEmpty"}, got)


def test_abort_incomplete_uploads_lifecycle_rule_is_stored(s3_client, bucket):
    rule = Rule(ENABLED, rule_filter=Filter(prefix=""), rule_id="abort-incomplete",
                abort_incomplete_multipart_upload=AbortIncompleteMultipartUpload(1))
    s3_client.set_bucket_lifecycle(bucket, LifecycleConfig([rule]))
    (stored,) = s3_client.get_bucket_lifecycle(bucket).rules
    got = stored.abort_incomplete_multipart_upload.days_after_initiation
    expect({"seaweedfs": 1, "ceph": 1, "moto": 1}, got)
