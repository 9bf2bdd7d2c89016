"""An upload whose S3 connection drops mid-stream leaves no index row and no object."""

from __future__ import annotations

import dataclasses
import os

import pytest
from django.test import Client

from cozy.files.models import Node
from cozy.instances.services import org_bucket
from s3util import make_client
from tests.cozyclient import Cozy, make_instance
from tests.faultproxy import CuttingProxy

pytestmark = pytest.mark.django_db(transaction=True)
MiB = 1024 * 1024


@pytest.fixture
def proxied(s3_config, settings, s3_client):
    proxy = CuttingProxy(s3_config.host, s3_config.port)
    through = dataclasses.replace(s3_config, host="127.0.0.1", port=proxy.port)
    settings.COZY_FS_URL = through.to_url()
    instance, token = make_instance("cut.localhost", "carol", org="faults")
    yield Cozy(instance, token, Client()), proxy
    proxy.close()


def listing(cozy: Cozy, client) -> list[str]:
    return [o.object_name for o in client.list_objects(org_bucket(cozy.instance), prefix=cozy.instance.key_prefix,
                                                       recursive=True)]


@pytest.mark.parametrize("size", [2 * MiB, 30 * MiB])  # a single PUT, and a multipart upload
def test_connection_cut_mid_upload(proxied, s3_client, s3_config, size):
    cozy, proxy = proxied
    proxy.cut_after(min(size // 2, 3 * MiB))  # within the first part of a multipart upload
    resp = cozy.upload("cut.bin", os.urandom(size))
    assert proxy.cuts >= 1
    assert resp.status_code == 503, resp.content
    body = resp.json()
    assert "unavailable" in body["errors"][0]["detail"]
    assert org_bucket(cozy.instance) not in resp.content.decode()
    assert not Node.objects.filter(name="cut.bin").exists()
    direct = make_client(s3_config)
    assert listing(cozy, direct) == []
    uploads = direct._list_multipart_uploads(org_bucket(cozy.instance)).uploads
    assert [u for u in uploads if u.object_name.startswith(cozy.instance.key_prefix)] == []
    # the store is still usable afterwards
    proxy.heal()
    assert cozy.upload("after.bin", b"fine").status_code == 201
