"""An S3 outage must raise, never answer False or 0."""

import pytest
from django.core.files.base import ContentFile

from s3util import ensure_bucket, make_client
from s3util.seaweedfs import SeaweedFS
from vfs_s3.storage import S3Storage


def test_outage_makes_exists_and_size_raise(tmp_path):
    server = SeaweedFS(data_dir=tmp_path / "weed").start()
    try:
        config = server.config("outage")
        storage = S3Storage(url=config.to_url(), bucket="outage-test")
        ensure_bucket(make_client(config), "outage-test")
        storage.save("here.txt", ContentFile(b"x"))
        assert storage.exists("here.txt") and not storage.exists("missing.txt")
    finally:
        server.stop()
    with pytest.raises(OSError) as info:
        storage.exists("here.txt")
    assert not isinstance(info.value, FileNotFoundError)
    assert "outage-test" not in str(info.value) and config.secret_key not in str(info.value)
    with pytest.raises(OSError):
        storage.size("here.txt")
