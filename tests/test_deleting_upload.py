"""An instance turning `deleting` while a request is already past authentication.

The state is read again under the instance row lock at commit time, so a slow upload that
started before `instances destroy` gets 410 and commits nothing, whatever the job has done.
"""

from __future__ import annotations

import io

import pytest
from django.test import Client

from cozy.deletion.index import delete_index, delete_instance_row
from cozy.deletion.services import open_job
from cozy.files.models import Node
from tests.cozyclient import ROOT, Cozy, doc_id, make_instance

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.s3contract]


class HookedBody(io.RawIOBase):
    """A request body that runs ``hook`` once, when the server first reads it (i.e. after auth)."""

    def __init__(self, data: bytes, hook):
        self._buf = io.BytesIO(data)
        self._hook = hook

    def read(self, size: int = -1) -> bytes:
        if self._hook is not None:
            hook, self._hook = self._hook, None
            hook()
        return self._buf.read(size)


@pytest.fixture
def cozy(fs_url, s3_client) -> Cozy:
    instance, token = make_instance("gone.localhost", "gina")
    return Cozy(instance, token, Client())


def _upload(cozy: Cozy, data: bytes, hook, name: str = "late.txt"):
    return cozy.client.post(
        f"/files/{ROOT}?Type=file&Name={name}", data=b"", content_type="text/plain",
        CONTENT_LENGTH=str(len(data)), **{"wsgi.input": HookedBody(data, hook)}, **cozy._h(),
    )


def test_upload_commits_into_instance_that_turned_deleting(cozy):
    """`instances destroy` (open_job) runs while the body streams: the upload must get 410, not 201."""
    resp = _upload(cozy, b"x" * 1000, lambda: open_job(cozy.instance.domain, "review"))
    assert not Node.objects.filter(instance=cozy.instance, name="late.txt").exists(), "row committed"
    assert resp.status_code == 410, (resp.status_code, resp.content[:300])


def test_overwrite_commits_into_instance_that_turned_deleting(cozy):
    fid = doc_id(cozy.upload("doc.txt", b"v1"))
    resp = cozy.client.put(
        f"/files/{fid}", data=b"", content_type="text/plain", CONTENT_LENGTH="2",
        **{"wsgi.input": HookedBody(b"v2", lambda: open_job(cozy.instance.domain, "review"))}, **cozy._h(),
    )
    assert resp.status_code == 410, (resp.status_code, resp.content[:300])


def test_upload_after_index_phase_gets_410(cozy):
    """The deletion job's index phase ran while the body streamed: the answer is 404 'no such file'."""

    def hook():
        open_job(cozy.instance.domain, "review")
        delete_index(cozy.instance.db_prefix)

    resp = _upload(cozy, b"y" * 1000, hook)
    assert resp.status_code == 410, (resp.status_code, resp.content[:300])


def test_upload_after_instance_row_is_gone_is_not_a_500(cozy):
    """The whole job finished while the body streamed: the commit's lock_tree() raises
    Instance.DoesNotExist, which reaches the catch-all handler as a 500."""

    def hook():
        open_job(cozy.instance.domain, "review")
        delete_index(cozy.instance.db_prefix)
        delete_instance_row(cozy.instance.db_prefix)

    resp = _upload(cozy, b"z" * 1000, hook)
    assert resp.status_code in (404, 410), (resp.status_code, resp.content[:300])
