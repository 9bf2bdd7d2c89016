"""The change feed under concurrent writes, through a real HTTP server: a reader that
follows it while others write ends with every document's last revision, in order."""

from __future__ import annotations

import json
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from cozy.files.models import Node
from tests.cozyclient import ROOT, make_instance

pytestmark = pytest.mark.django_db(transaction=True)


def test_reader_following_the_feed_misses_nothing(http_server):
    instance, token = make_instance(f"feed-{secrets.token_hex(3)}.localhost", "feed")
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(method: str, path: str, body: dict | None = None) -> dict:
        status, _, data = http_server.request(method, path, host=instance.domain, headers=auth,
                                              body=json.dumps(body) if body else None)
        assert status in (200, 201), (status, data[:200])
        return json.loads(data)

    def writer(n: int) -> None:
        dir_id = call("POST", f"/files/{ROOT}?Type=directory&Name=w{n}")["data"]["id"]
        for i in range(6):
            call("PATCH", f"/files/{dir_id}", {"data": {"attributes": {"name": f"w{n}-{i}"}}})

    seen: dict[str, str] = {}
    seqs: list[int] = []
    done = threading.Event()

    def read_once(since: str) -> tuple[str, int]:
        page = call("GET", f"/files/_changes?since={since}&limit=7")
        for result in page["results"]:
            seen[result["id"]] = result["changes"][0]["rev"]
            seqs.append(int(result["seq"]))
        return page["last_seq"], page["pending"]

    def reader() -> None:
        since = "0"
        while not done.is_set():
            since, _ = read_once(since)
        while True:  # drain what came after the writers finished
            since, pending = read_once(since)
            if not pending:
                return

    follow = threading.Thread(target=reader)
    follow.start()
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(writer, range(6)))
    done.set()
    follow.join(60)
    assert not follow.is_alive()
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    expected = {n.doc_id: n.rev for n in Node.objects.filter(instance=instance)}
    assert seen == expected
    assert len(expected) == 2 + 6
