"""The embedded SeaweedFS: signatures are checked and stop() leaves nothing running."""

import dataclasses
import os

import pytest
from minio.error import S3Error

from s3util import make_client
from s3util.seaweedfs import SeaweedFS


@pytest.mark.skipif(os.environ.get("COZY_TEST_S3", "seaweedfs") != "seaweedfs", reason="SeaweedFS-specific")
def test_wrong_secret_is_refused(s3_server):
    config, _ = s3_server
    bad = make_client(dataclasses.replace(config, secret_key="not-the-secret"))
    with pytest.raises(S3Error) as info:
        bad.list_buckets()
    assert info.value.code in ("SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied")


def test_start_and_stop_leave_no_process(tmp_path):
    server = SeaweedFS(data_dir=tmp_path / "weed").start()
    pid = server.process.pid
    client = make_client(server.config())
    client.make_bucket("lifecycle-check")
    assert client.bucket_exists("lifecycle-check")
    server.stop()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
