"""A download's store reads, let go of and resumed (cozy/files/relay.py): the resumed GET
starts at the byte reached, and never hands out another version of the object."""

from __future__ import annotations

import os

import pytest

from cozy.files.relay import StoreRead
from vfs_s3.errors import ObjectChanged
from vfs_s3.storage import S3Storage

pytestmark = pytest.mark.s3contract
MiB = 1024 * 1024


@pytest.fixture
def store(fs_url, s3_config) -> S3Storage:
    st = S3Storage(url=fs_url, bucket=f"{s3_config.bucket_prefix}-relay", location="inst/files")
    st.ensure_bucket()
    return st


def take(read: StoreRead, count: int) -> bytes:
    data = read.body().read(count)
    read.took(len(data))
    return data


@pytest.mark.parametrize("start,end", [(0, None), (1000, None), (1000, 3 * MiB)])
def test_a_released_read_resumes_at_the_byte_reached(store, start, end):
    data = os.urandom(5 * MiB)
    store.put("f", data)
    want = data[start: None if end is None else end + 1]
    read = StoreRead(store, "f", start, end)
    got = take(read, 123_457)
    read.release()
    assert not read.is_open
    while len(got) < len(want):
        got += take(read, 700_001)
        read.release()  # after every chunk: each read a new ranged GET
    read.close()
    assert got == want
    assert read.opened > 2


def test_a_resumed_read_refuses_an_object_that_changed(store):
    store.put("g", os.urandom(2 * MiB))
    read = StoreRead(store, "g", 0, None)
    take(read, 1000)
    read.release()
    store.put("g", os.urandom(2 * MiB))
    with pytest.raises(ObjectChanged):
        read.body()
