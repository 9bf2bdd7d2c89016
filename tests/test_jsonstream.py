"""The metadata document read piece by piece gives what json.loads gives, whatever the cuts."""

from __future__ import annotations

import io
import json

import pytest

from cozy.exports import jsonstream

DOC = {
    "format": "cozy-export", "version": 1, "parts": 12345, "instance": {"domain": "a.example", "quota": None},
    "avatar": None, "apps": [],
    "files": [{"id": f"{n:032x}", "name": f"été 😀 {n}", "size": n * 1001, "ratio": -1.5e-3, "trashed": n % 2 == 0,
               "versions": [{"id": "v", "size": 0}]} for n in range(40)],
}  # fmt: skip


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 100_000])
@pytest.mark.parametrize("indent", [None, 1])
def test_it_reads_what_json_reads_whatever_the_chunk(chunk, indent):
    data = json.dumps(DOC, ensure_ascii=False, indent=indent).encode()
    assert jsonstream.load(io.BytesIO(data), chunk=chunk) == DOC


@pytest.mark.parametrize("chunk", [1, 64])
def test_empty_members_and_lists(chunk):
    for doc in ({}, {"files": []}, {"files": [], "parts": 0}, {"parts": 10}):
        assert jsonstream.load(io.BytesIO(json.dumps(doc).encode()), chunk=chunk) == doc


@pytest.mark.parametrize("data", [b"", b"[]", b'{"files": [1, 2', b'{"files": [1 2]}', b'{"a": 1} x', b'{"a": tru}',
                                  b'{1: 2}', b'{"a": "\xff"}'])  # fmt: skip
def test_what_is_not_one_json_object_is_refused(data):
    with pytest.raises(ValueError):
        jsonstream.load(io.BytesIO(data), chunk=3)
