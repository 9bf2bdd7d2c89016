"""A client that pauses mid-upload must not lose its upload to the store's idle timeout.

A streamed PUT keeps one request to the store open for as long as the client
takes; a pause longer than the store's idle timeout (about 20 s on AWS) would
fail it with nothing left to resend. So only a client that sends its first part
fast gets a streamed PUT (the store's stream_min_rate option); a slower one goes
through the writer, whose 8 MiB parts do not care about pauses in between.
(Found in review: before that rule, this test's upload got a 503.)
"""

from __future__ import annotations

import hashlib
import io
import os
import time

import pytest

from cozy.files import content
from cozy.files.models import Node
from cozy.instances.services import org_bucket
from s3util import make_client
from s3util.client import BodyAlreadySent, StreamedBody
from s3util.seaweedfs import SeaweedFS
from tests.cozyclient import ROOT, content_key, make_instance

MiB = 1024 * 1024


class ShortIdleSeaweedFS(SeaweedFS):
    """SeaweedFS whose S3 gateway drops a connection idle for 2 s (its default is 120 s)."""

    def command(self, data):
        return [*super().command(data), "-s3.idleTimeout=2"]

    def _wait_ready(self, timeout, log_path):
        """Ready when a bucket takes a write (removing the probe bucket right after start is flaky here)."""
        client = make_client(self.config())
        deadline = time.monotonic() + timeout
        while True:
            try:
                if not client.bucket_exists("ready-probe"):
                    client.make_bucket("ready-probe")
                client.put_object("ready-probe", "probe", io.BytesIO(b"ok"), 2)
                return
            except Exception:  # retried until the deadline
                if time.monotonic() > deadline or (self.process and self.process.poll() is not None):
                    raise
                time.sleep(0.3)


@pytest.fixture(scope="module")
def short_idle_store(tmp_path_factory):
    server = ShortIdleSeaweedFS(data_dir=tmp_path_factory.mktemp("idle-weed")).start(timeout=120)
    yield server
    server.stop()


def paused_read(data: bytes, pause_after: int, seconds: float):
    """A request body's read(n): the client stops sending for ``seconds`` after ``pause_after`` bytes."""
    state = {"pos": 0, "paused": False}

    def read(n: int) -> bytes:
        pos = state["pos"]
        if pos >= pause_after and not state["paused"]:
            state["paused"] = True
            time.sleep(seconds)
        end = min(pos + n, len(data), pause_after if pos < pause_after else len(data))
        state["pos"] = end
        return data[pos:end]

    return read


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("with_md5", [False, True], ids=["hashed-by-cozy", "with-content-md5"])
def test_a_client_pause_mid_upload_does_not_fail_a_large_upload(short_idle_store, settings, with_md5):
    settings.COZY_FS_URL = short_idle_store.config("tidle").to_url()
    instance, _ = make_instance(f"idle{int(with_md5)}.localhost", "ida", org=f"idle{int(with_md5)}")
    data = os.urandom(12 * MiB)
    md5 = hashlib.md5(data).hexdigest()
    upload = content.Upload(read=paused_read(data, MiB, 4), length=len(data),
                            expected_md5=md5 if with_md5 else None, mime=None)
    node = content.create_file(instance, ROOT, "slow.bin", upload)
    assert (node.md5, Node.objects.get(pk=node.pk).size) == (md5, len(data))
    client = make_client(short_idle_store.config("tidle"))
    stat = client.stat_object(org_bucket(instance), content_key(instance, node.doc_id, node.content_id))
    assert stat.etag.endswith("-2")  # the writer's two parts, not one long PUT
    assert stat.metadata["x-amz-meta-md5"] == md5


def test_a_streamed_body_can_be_retried_until_its_first_chunk_is_taken():
    source = iter([b"a", b"b"])
    body = StreamedBody(source, 2)
    iter(body)  # urllib3 takes the iterator, then the connection fails: nothing was sent
    assert list(body) == [b"a", b"b"]  # so the retry sends it all
    with pytest.raises(BodyAlreadySent):
        iter(body)  # bytes went out: a retry cannot send them again
