"""Through a real HTTP server: concurrency, chunked bodies, and an S3 connection cut mid-upload."""

from __future__ import annotations

import hashlib
import json
import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest

from cozy.files.models import Node, Version
from cozy.instances.services import org_bucket
from s3util import make_client, parse_fs_url
from tests.cozyclient import ROOT, make_instance, md5_b64

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice(http_server, shared_fs_url):
    instance, token = make_instance(f"alice-{secrets.token_hex(3)}.localhost", "alice", org="conc")
    client = make_client(parse_fs_url(shared_fs_url))
    return instance, {"Authorization": f"Bearer {token}"}, client


def keys(instance, client) -> list[str]:
    return sorted(o.object_name for o in client.list_objects(org_bucket(instance), prefix=instance.key_prefix,
                                                             recursive=True))


def test_concurrent_uploads_to_one_name(http_server, alice):
    instance, auth, client = alice
    bodies = [f"content number {i}\n".encode() * 5000 for i in range(20)]

    def upload(body: bytes):
        headers = {**auth, "Content-MD5": md5_b64(body), "Content-Type": "text/plain"}
        return http_server.request("POST", f"/files/{ROOT}?Type=file&Name=race.txt", host=instance.domain,
                                   body=body, headers=headers)

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(upload, bodies))
    statuses = sorted(r[0] for r in results)
    assert statuses == [201] + [409] * 19, statuses
    for status, _, body in results:
        assert json.loads(body)["errors" if status == 409 else "data"]
    node = Node.objects.get(instance=instance, name="race.txt")
    winner = next(b for (s, _, _), b in zip(results, bodies, strict=True) if s == 201)
    assert node.md5 == hashlib.md5(winner).hexdigest()
    status, _, got = http_server.request("GET", f"/files/download/{node.doc_id}", host=instance.domain, headers=auth)
    assert status == 200 and got == winner
    # the losers' objects were removed: only the winner's content remains
    assert keys(instance, client) == [f"{instance.db_prefix}/files/{node.doc_id}/{node.content_id}"]


def test_concurrent_overwrites_stay_consistent(http_server, alice, settings):
    instance, auth, client = alice
    status, _, body = http_server.request("POST", f"/files/{ROOT}?Type=file&Name=busy.bin", host=instance.domain,
                                          body=b"v0", headers=auth)
    assert status == 201
    fid = json.loads(body)["data"]["id"]
    bodies = [secrets.token_bytes(2000 + i) for i in range(20)]

    def put(body: bytes):
        return http_server.request("PUT", f"/files/{fid}", host=instance.domain, body=body,
                                   headers={**auth, "Content-MD5": md5_b64(body)})[0]

    with ThreadPoolExecutor(20) as pool:
        assert set(pool.map(put, bodies)) == {200}
    node = Node.objects.get(instance=instance, doc_id=fid)
    versions = list(Version.objects.filter(file=node))
    assert node.revision == 21
    assert len(versions) == min(20, settings.COZY_MAX_VERSIONS)
    all_md5 = {hashlib.md5(b).hexdigest() for b in [b"v0", *bodies]}
    seen = [node.md5] + [v.md5 for v in versions]
    assert len(set(seen)) == len(seen) and set(seen) <= all_md5
    # every content still referenced matches its MD5, and nothing unreferenced is left
    for content_id, md5 in [(node.content_id, node.md5)] + [(v.content_id, v.md5) for v in versions]:
        path = f"/files/download/{fid}" if content_id == node.content_id else f"/files/download/{fid}/{content_id}"
        status, _, got = http_server.request("GET", path, host=instance.domain, headers=auth)
        assert status == 200 and hashlib.md5(got).hexdigest() == md5
    expected = sorted(f"{instance.db_prefix}/files/{fid}/{c}" for c in [node.content_id] +
                      [v.content_id for v in versions])
    assert keys(instance, client) == expected


def test_chunked_upload(http_server, alice):
    instance, auth, _ = alice
    parts = [secrets.token_bytes(300_000) for _ in range(5)]
    data = b"".join(parts)
    status, _, body = http_server.request(
        "POST", f"/files/{ROOT}?Type=file&Name=chunked.bin", host=instance.domain, body=iter(parts),
        headers={**auth, "Transfer-Encoding": "chunked", "Content-MD5": md5_b64(data)},
    )
    assert status == 201, body
    doc = json.loads(body)["data"]
    assert doc["attributes"]["size"] == str(len(data))
    status, _, got = http_server.request("GET", f"/files/download/{doc['id']}", host=instance.domain, headers=auth)
    assert got == data
