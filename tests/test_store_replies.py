"""A store that answers with malformed, truncated or hostile replies: 503, nothing stored, nothing leaked.

The replies are replaced at the network edge (tests/replyproxy.py), in front of
the real SeaweedFS.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import os

import pytest
from django.core.management import call_command
from django.test import Client

from cozy.files.models import Node
from cozy.instances.services import org_bucket
from tests.cozyclient import Cozy, make_instance
from tests.replyproxy import ReplyProxy, hostile_error, malformed_error, truncated_xml

pytestmark = pytest.mark.django_db(transaction=True)
MiB = 1024 * 1024
HOSTILE = "https://evil.example/x?X-Amz-Signature=deadbeef&secret_key=SKSECRET"


@pytest.fixture
def proxied(s3_config, settings, s3_client):
    proxy = ReplyProxy(s3_config.host, s3_config.port)
    settings.COZY_FS_URL = dataclasses.replace(s3_config, port=proxy.port).to_url()
    instance, token = make_instance("replies.localhost", "rita", org="replies")
    yield Cozy(instance, token, Client()), proxy
    proxy.close()


def stored(cozy: Cozy, client) -> list[str]:
    listed = client.list_objects(org_bucket(cozy.instance), prefix=cozy.instance.key_prefix, recursive=True)
    return [o.object_name for o in listed]


@pytest.mark.parametrize("step", ["uploads", "uploadId"])  # the start, then the completion, of a multipart upload
def test_a_truncated_multipart_reply_is_a_503_with_nothing_stored(proxied, s3_client, step):
    cozy, proxy = proxied
    proxy.rewrite = lambda method, path, status, headers, body: (
        truncated_xml(status, headers, body) if method == "POST" and step in path and status == 200 else None)
    resp = cozy.upload("big.bin", os.urandom(20 * MiB), md5=None)  # no Content-MD5: the multipart writer
    assert proxy.rewritten >= 1
    assert resp.status_code == 503, resp.content
    assert "unavailable" in resp.json()["errors"][0]["detail"]
    assert not Node.objects.filter(name="big.bin").exists()
    assert stored(cozy, s3_client) == []


def test_when_every_reply_is_malformed_uploads_downloads_and_overwrites_are_503(proxied, s3_client):
    cozy, proxy = proxied
    file_id = cozy.upload("kept.txt", b"the first bytes").json()["data"]["id"]
    before = stored(cozy, s3_client)
    proxy.rewrite = lambda *reply: malformed_error(403)
    for resp in (cozy.upload("new.txt", b"x" * 100), cozy.get(f"/files/download/{file_id}"),
                 cozy.put(file_id, b"other bytes"),
                 cozy.upload("big.bin", os.urandom(12 * MiB))):
        assert resp.status_code == 503, resp.content
        assert resp.json()["errors"][0]["status"] == "503"
    proxy.rewrite = None
    assert stored(cozy, s3_client) == before
    assert cozy.download(file_id) == b"the first bytes"


def test_a_hostile_error_code_never_reaches_a_log_or_a_report(proxied, s3_client, caplog):
    cozy, proxy = proxied
    cozy.upload("kept.txt", b"bytes")
    proxy.rewrite = lambda *reply: hostile_error(HOSTILE, 403)
    caplog.set_level(logging.DEBUG)
    resp = cozy.upload("new.txt", b"x" * 100)
    assert resp.status_code == 503
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("fsck", cozy.host, "--json", stdout=out)
    report = json.loads(out.getvalue().splitlines()[-1])
    assert report["domain"] == cozy.host and "UnrecognizedErrorCode" in report["error"]
    for text in (resp.content.decode(), out.getvalue(), caplog.text):
        assert "evil" not in text and "X-Amz" not in text and "SKSECRET" not in text
