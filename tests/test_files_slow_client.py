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
import signal
import threading
import time

import pytest
import urllib3

from cozy.files import content
from cozy.files.errors import Unavailable
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


# -- the store stalls mid-upload -------------------------------------------------------
@pytest.fixture(scope="module")
def pausable_store(tmp_path_factory):
    server = SeaweedFS(data_dir=tmp_path_factory.mktemp("pause-weed")).start(timeout=120)
    yield server
    os.killpg(server.process.pid, signal.SIGCONT)
    server.stop()


def pausing_read(data: bytes, store: SeaweedFS, at: int, seconds: float):
    """A fast client's body; when ``at`` bytes went out, the store is paused for ``seconds``."""
    state = {"pos": 0}

    def read(n: int) -> bytes:
        pos = state["pos"]
        if pos <= at < pos + n:
            os.killpg(store.process.pid, signal.SIGSTOP)
            threading.Timer(seconds, os.killpg, (store.process.pid, signal.SIGCONT)).start()
        state["pos"] = min(pos + n, len(data))
        return data[pos:state["pos"]]

    return read


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("pause", "stall_timeout", "stored"), [(12, 40, True), (10, 3, False)],
                         ids=["within-the-stall-timeout", "past-it"])
def test_a_store_stall_mid_streamed_upload(pausable_store, settings, monkeypatch, pause, stall_timeout, stored):
    """A streamed PUT (a fast client with Content-MD5) rides out a store pause shorter than
    COZY_S3_STALL_TIMEOUT; past it, the upload fails cleanly (503) and stores nothing. It used
    to fail after 10 s, the connect timeout, under which urllib3 sends a body."""
    monkeypatch.setenv("COZY_S3_STALL_TIMEOUT", str(stall_timeout))
    settings.COZY_FS_URL = pausable_store.config(f"tpause{stall_timeout}").to_url()
    instance, _ = make_instance(f"pause{stall_timeout}.localhost", "paula", org=f"pause{stall_timeout}")
    data = os.urandom(48 * MiB)
    md5 = hashlib.md5(data).hexdigest()
    upload = content.Upload(read=pausing_read(data, pausable_store, 16 * MiB, pause), length=len(data),
                            expected_md5=md5, mime=None)
    client = make_client(pausable_store.config(f"tpause{stall_timeout}"))
    if stored:
        node = content.create_file(instance, ROOT, "big.bin", upload)
        stat = client.stat_object(org_bucket(instance), content_key(instance, node.doc_id, node.content_id))
        assert stat.etag == md5  # one streamed PUT, checked by the store
        return
    with pytest.raises(Unavailable):
        content.create_file(instance, ROOT, "big.bin", upload)
    deadline = time.monotonic() + pause + 30
    while True:  # the store is back: nothing of the upload is in it
        try:
            assert list(client.list_objects(org_bucket(instance), prefix=instance.key_prefix, recursive=True)) == []
            break
        except urllib3.exceptions.HTTPError:
            assert time.monotonic() < deadline
            time.sleep(0.5)
    assert not Node.objects.filter(instance=instance, name="big.bin").exists()
