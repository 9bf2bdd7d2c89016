"""s3util against a real S3 server (SeaweedFS by default, moto in CI too)."""

import io
import threading

import pytest
from minio.error import S3Error

from s3util import (
    DeleteError,
    S3NotFoundError,
    delete_objects,
    delete_prefix_objects,
    ensure_bucket,
    is_not_found,
    sanitize_error,
    wrap_not_found,
)
from s3util.batch import MAX_KEYS_PER_REQUEST

pytestmark = pytest.mark.s3contract


def put(client, bucket, key, data=b"x"):
    client.put_object(bucket, key, io.BytesIO(data), len(data))


def keys_of(client, bucket, prefix=""):
    return sorted(o.object_name for o in client.list_objects(bucket, prefix=prefix, recursive=True))


@pytest.fixture
def bucket(s3_client, s3_config):
    name = f"{s3_config.bucket_prefix}-default"
    ensure_bucket(s3_client, name)
    return name


def test_ensure_bucket_is_idempotent(s3_client, s3_config):
    name = f"{s3_config.bucket_prefix}-idem"
    assert ensure_bucket(s3_client, name) is True
    assert ensure_bucket(s3_client, name) is False
    assert s3_client.bucket_exists(name)


def test_ensure_bucket_race(s3_client, s3_config):
    name = f"{s3_config.bucket_prefix}-race"
    results, errors = [], []

    def create():
        try:
            results.append(ensure_bucket(s3_client, name))
        except Exception as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert s3_client.bucket_exists(name)
    assert len(results) == 6


def test_delete_objects_batches_over_1000(s3_client, bucket, monkeypatch):
    keys = [f"p/{i:05d}" for i in range(2345)]
    for k in keys:
        put(s3_client, bucket, k)
    calls = []
    original = s3_client.remove_objects

    def counting(bucket_name, objects, **kw):
        objects = list(objects)
        calls.append(len(objects))
        return original(bucket_name, iter(objects), **kw)

    monkeypatch.setattr(s3_client, "remove_objects", counting)
    assert delete_objects(s3_client, bucket, keys) == 2345
    assert calls == [1000, 1000, 345]
    assert max(calls) <= MAX_KEYS_PER_REQUEST
    assert keys_of(s3_client, bucket) == []


def test_delete_objects_missing_keys_are_fine(s3_client, bucket):
    put(s3_client, bucket, "a/1")
    assert delete_objects(s3_client, bucket, ["a/1", "a/never-existed"]) == 2
    assert keys_of(s3_client, bucket) == []


def test_delete_objects_collects_every_error(s3_client, s3_config):
    missing_bucket = f"{s3_config.bucket_prefix}-nope"
    with pytest.raises((DeleteError, S3Error)) as info:
        delete_objects(s3_client, missing_bucket, [f"k{i}" for i in range(3)])
    if isinstance(info.value, DeleteError):
        assert len(info.value.failures) == 3
        assert missing_bucket not in str(info.value)


def test_delete_prefix_respects_the_trailing_slash(s3_client, bucket):
    for k in ["a1/x", "a1/y/z", "a10/x", "a1x", "b/x"]:
        put(s3_client, bucket, k, b"12345")
    stats = delete_prefix_objects(s3_client, bucket, "a1/")
    assert (stats.objects, stats.bytes) == (2, 10)
    assert keys_of(s3_client, bucket) == ["a10/x", "a1x", "b/x"]


def test_delete_prefix_paginates(s3_client, bucket):
    for i in range(1100):
        put(s3_client, bucket, f"big/{i}")
    put(s3_client, bucket, "keep/1")
    assert delete_prefix_objects(s3_client, bucket, "big/").objects == 1100
    assert keys_of(s3_client, bucket) == ["keep/1"]


@pytest.mark.parametrize("prefix", ["", "a1", "/", "/a1/"])
def test_delete_prefix_refuses_unsafe_prefixes(s3_client, bucket, prefix):
    put(s3_client, bucket, "a1/x")
    with pytest.raises(ValueError):
        delete_prefix_objects(s3_client, bucket, prefix)
    assert keys_of(s3_client, bucket) == ["a1/x"]


def test_not_found_wrapping(s3_client, bucket, s3_config):
    with pytest.raises(S3Error) as info:
        s3_client.stat_object(bucket, "missing/key")
    assert is_not_found(info.value)
    wrapped = wrap_not_found(info.value)
    assert isinstance(wrapped, S3NotFoundError)
    assert isinstance(wrapped, FileNotFoundError)
    assert "missing/key" not in str(wrapped) and bucket not in str(wrapped)

    with pytest.raises(S3Error) as info:
        s3_client.get_object(f"{s3_config.bucket_prefix}-nobucket", "k")
    assert is_not_found(info.value)


def test_sanitized_errors_carry_no_names(s3_client, bucket, s3_config):
    with pytest.raises(S3Error) as info:
        s3_client.get_object(bucket, "secret-folder/secret-key")
    text = sanitize_error(info.value)
    assert "secret" not in text and bucket not in text
    assert s3_config.access_key not in text
    assert text.startswith("object storage error: ")


def test_not_found_is_false_for_other_errors():
    assert not is_not_found(ValueError("x"))
    assert is_not_found(FileNotFoundError("x"))
