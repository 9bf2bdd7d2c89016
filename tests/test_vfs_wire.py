"""Each multipart part carries its own Content-MD5 wherever a wire could damage it.

A proxy on the way to the real S3 server flips one byte of a part: with part
checksums the server refuses the part and nothing is stored; without them (the
default on loopback only) the damaged bytes are stored, as this test shows, and
only ``fsck --deep`` would see the difference.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os

import pytest

from s3util import ensure_bucket
from tests.faultproxy import CuttingProxy
from vfs_s3.storage import S3Storage

MiB = 1024 * 1024
SMALL = {"multipart_threshold": 5 * MiB, "part_size": 5 * MiB, "parallel_parts": 2}


@pytest.mark.parametrize(
    ("url", "option", "expected"),
    [
        ("s3://127.0.0.1:8333?access_key=a&secret_key=b&use_ssl=false", None, False),
        ("s3://localhost:8333?access_key=a&secret_key=b&use_ssl=false", None, False),
        ("s3://[::1]:8333?access_key=a&secret_key=b&use_ssl=false", None, False),
        ("s3://minio.lan:9000?access_key=a&secret_key=b&use_ssl=false", None, True),
        ("s3://10.0.0.7:9000?access_key=a&secret_key=b&use_ssl=false", None, True),
        ("s3://127.0.0.1:8443?access_key=a&secret_key=b", None, True),
        ("s3://127.0.0.1:8333?access_key=a&secret_key=b&use_ssl=false", True, True),
        ("s3://s3.example.org?access_key=a&secret_key=b", False, False),
    ],
)
def test_part_checksums_default_follows_the_wire(url, option, expected):
    assert S3Storage(url=url, part_checksums=option).sends_part_checksums is expected


@pytest.fixture
def proxy(s3_config):
    proxy = CuttingProxy(s3_config.host, s3_config.port)
    yield proxy
    proxy.close()


def proxied_storage(s3_config, s3_client, proxy, **options) -> S3Storage:
    through = dataclasses.replace(s3_config, host="127.0.0.1", port=proxy.port)
    storage = S3Storage(url=through.to_url(), **SMALL, **options)
    ensure_bucket(s3_client, storage.bucket_name)
    return storage


def stored(s3_client, storage: S3Storage, name: str) -> bytes | None:
    names = [o.object_name for o in s3_client.list_objects(storage.bucket_name, recursive=True)]
    if name not in names:
        return None
    resp = s3_client.get_object(storage.bucket_name, name)
    try:
        return resp.read()
    finally:
        resp.close()
        resp.release_conn()


def test_a_damaged_part_is_refused_and_nothing_is_stored(s3_config, s3_client, proxy):
    storage = proxied_storage(s3_config, s3_client, proxy, part_checksums=True)
    data = os.urandom(12 * MiB)
    proxy.flip_byte_at(2 * MiB)  # inside the first part's body on its connection
    with pytest.raises(OSError) as err:
        storage.save("damaged.bin", io.BytesIO(data))
    assert proxy.flips == 1
    assert storage.bucket_name not in str(err.value) and "damaged.bin" not in str(err.value)
    assert stored(s3_client, storage, "damaged.bin") is None
    assert list(s3_client._list_multipart_uploads(storage.bucket_name).uploads) == []
    assert storage.save("whole.bin", io.BytesIO(data)) == "whole.bin"  # the same bytes, undamaged, go in
    assert stored(s3_client, storage, "whole.bin") == data


def test_without_part_checksums_the_damage_goes_in(s3_config, s3_client, proxy):
    storage = proxied_storage(s3_config, s3_client, proxy, part_checksums=False)
    data = os.urandom(12 * MiB)
    proxy.flip_byte_at(2 * MiB)
    storage.save("unchecked.bin", io.BytesIO(data))
    assert proxy.flips == 1
    kept = stored(s3_client, storage, "unchecked.bin")
    assert kept is not None and len(kept) == len(data) and kept != data
    recorded = s3_client.stat_object(storage.bucket_name, "unchecked.bin").metadata["x-amz-meta-md5"]
    assert recorded == hashlib.md5(data).hexdigest() != hashlib.md5(kept).hexdigest()
