"""Edge cases of the files API found in review: every one answered with a 4xx or the right bytes."""

from __future__ import annotations

import unicodedata

import pytest
import urllib3
from django.test import Client
from minio import Minio

from cozy.files.models import Node
from tests.cozyclient import ROOT, TRASH, Cozy, doc_id, make_instance
from tests.test_files_api import assert_error, objects

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.s3contract]
HUGE = "9" * 5000  # past Python's int() limit of 4300 digits


@pytest.fixture
def cozy(fs_url, s3_client) -> Cozy:
    instance, token = make_instance("edges.localhost", "edna", org="edges")
    return Cozy(instance, token, Client())


@pytest.mark.parametrize("header", [f"bytes={HUGE}-", f"bytes=0-{HUGE}", f"bytes=-{HUGE}", "bytes=٣-"])
def test_a_range_with_absurd_numbers_is_ignored(cozy, header):
    fid = doc_id(cozy.upload("f.txt", b"0123456789"))
    resp = cozy.get(f"/files/download/{fid}", HTTP_RANGE=header)
    assert resp.status_code == 200 and b"".join(resp.streaming_content) == b"0123456789"


@pytest.mark.parametrize("length", [HUGE, "\u00b2", "-1", " 1"])
def test_a_bad_content_length_is_a_400(cozy, length):
    resp = cozy.client.post(f"/files/{ROOT}?Type=file&Name=x.txt", data=b"a", content_type="text/plain",
                            **cozy._h(CONTENT_LENGTH=length))  # fmt: skip
    assert "Content-Length" in assert_error(resp, 400)["errors"][0]["detail"]


def test_if_range_with_a_stale_etag_sends_the_whole_new_file(cozy):
    old, new = b"A" * 100, b"B" * 100
    fid = doc_id(cozy.upload("movie.bin", old))
    first = cozy.get(f"/files/download/{fid}", HTTP_RANGE="bytes=0-49")
    assert first.status_code == 206
    assert cozy.put(fid, new).status_code == 200
    stale = cozy.get(f"/files/download/{fid}", HTTP_RANGE="bytes=50-", HTTP_IF_RANGE=first["ETag"])
    assert stale.status_code == 200 and b"".join(stale.streaming_content) == new  # RFC 9110, 13.1.5
    current = cozy.get(f"/files/download/{fid}", HTTP_RANGE="bytes=50-", HTTP_IF_RANGE=stale["ETag"])
    assert current.status_code == 206 and b"".join(current.streaming_content) == new[50:]


@pytest.mark.parametrize("ctype", ["text/pl\x00ain", "text/\u00e9t\u00e9", "a/b/c"])
def test_a_malformed_content_type_falls_back_to_the_name(cozy, s3_client, ctype):
    resp = cozy.upload("doc.txt", b"hello", content_type=ctype)
    assert resp.status_code == 201, resp.content[:200]
    assert resp.json()["data"]["attributes"]["mime"] == "text/plain"
    assert len(objects(cozy, s3_client)) == 1


def test_a_lone_surrogate_in_a_name_is_a_400(cozy):
    fid = doc_id(cozy.upload("f.txt", b"x"))
    body = '{"data": {"attributes": {"name": "\\ud800x"}}}'  # valid JSON, not valid Unicode text
    resp = cozy.client.patch(f"/files/{fid}", data=body, content_type="application/json", **cozy._h())
    assert "Unicode" in assert_error(resp, 400)["errors"][0]["detail"]  # the parser says why


@pytest.mark.parametrize("name", ["a\x7fb", "a\x85b", "a\x9bb"], ids=["DEL", "NEL", "CSI"])
def test_control_characters_are_refused(cozy, name):
    assert_error(cozy.upload(name, b"x"), 400)


def test_names_are_stored_in_nfc_so_one_name_has_one_spelling(cozy):
    nfc, nfd = unicodedata.normalize("NFC", "caf\u00e9"), unicodedata.normalize("NFD", "caf\u00e9")
    made = cozy.mkdir(nfd)
    assert made.status_code == 201 and made.json()["data"]["attributes"]["name"] == nfc
    assert_error(cozy.mkdir(nfc), 409)
    assert_error(cozy.upload(nfd, b"x"), 409)


def test_suffixes_keep_names_within_255_bytes(cozy):
    name = "é" * 125 + ".txt"  # 254 bytes: " (2)" must cut the stem, never a character, never the extension
    for _ in range(2):
        assert cozy.delete(f"/files/{doc_id(cozy.upload(name, b'x'))}").status_code == 200
    in_trash = Node.objects.filter(instance=cozy.instance, parent__doc_id=TRASH).order_by("pk")
    assert [n.name for n in in_trash] == [name, "é" * 123 + " (2).txt"]
    assert cozy.upload(name, b"y").status_code == 201
    restored = cozy.post(f"/files/trash/{in_trash[0].doc_id}").json()["data"]["attributes"]["name"]
    assert restored == "é" * 123 + " (2).txt" and len(restored.encode()) == 254


def test_a_failed_md5_copy_leaves_no_object(cozy, s3_client, monkeypatch):
    def cut(self, *args, **kwargs):  # the network fails on the copy that adds the MD5 to a multipart object
        raise urllib3.exceptions.ProtocolError("connection reset")

    monkeypatch.setattr(Minio, "copy_object", cut)
    resp = cozy.upload("big.bin", b"z" * (9 * 1024 * 1024), md5=None)  # past the threshold: multipart
    assert resp.status_code == 503, resp.content[:200]
    assert not Node.objects.filter(instance=cozy.instance, name="big.bin").exists()
    assert objects(cozy, s3_client) == []
