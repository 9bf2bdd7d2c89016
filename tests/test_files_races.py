"""Races that need row locks to show: two requests on one instance, interleaved on purpose.

SQLite runs IMMEDIATE transactions one at a time, so there these cannot interleave;
CI runs them on PostgreSQL. Each slows one request down inside its transaction
(monkeypatched helper) while the other runs, then checks the index against the store.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, connections
from django.test import Client

from cozy.files import attributes, content
from cozy.files.models import Node, Version
from cozy.files.tree import ancestors
from tests.cozyclient import ROOT, Cozy, doc_id, make_instance
from tests.test_files_api import objects

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cozy(fs_url, s3_client) -> Cozy:
    if connection.vendor != "postgresql":
        pytest.skip("needs row locks: SQLite runs IMMEDIATE transactions one at a time (CI uses PostgreSQL)")
    instance, token = make_instance("races.localhost", "rae", org="races")
    return Cozy(instance, token, Client())


def both(cozy: Cozy, first: Callable, second: Callable) -> tuple:
    """Run two requests in threads, each on its own client and connection; their responses."""
    out: dict[int, object] = {}

    def run(n: int, fn: Callable) -> None:
        try:
            out[n] = fn(Cozy(cozy.instance, cozy.token, Client()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n, fn), name=f"req{n}") for n, fn in enumerate((first, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return out[0], out[1]


def slow_down(monkeypatch, module, name: str, thread: str, started: threading.Event, seconds: float = 1.5) -> None:
    """Make ``module.name`` pause once in thread ``thread``, after doing its work, and say so."""
    real = getattr(module, name)

    def slow(*args, **kwargs):
        result = real(*args, **kwargs)
        if threading.current_thread().name == thread and not started.is_set():
            started.set()
            time.sleep(seconds)
        return result

    monkeypatch.setattr(module, name, slow)


def referenced_but_missing(cozy: Cozy, s3_client, fid: str) -> list[str]:
    node = Node.objects.get(instance=cozy.instance, doc_id=fid)
    keys = objects(cozy, s3_client)
    ids = [node.content_id, *Version.objects.filter(file=node).values_list("content_id", flat=True)]
    return [c for c in ids if not any(k.endswith("/" + c) for k in keys)]


def test_a_revert_racing_a_pruning_overwrite(cozy, s3_client, settings, monkeypatch):
    settings.COZY_MAX_VERSIONS = 1
    fid = doc_id(cozy.upload("doc.txt", b"v0"))
    assert cozy.put(fid, b"v1").status_code == 200
    v0 = Version.objects.get(file__doc_id=fid).content_id  # the next overwrite prunes it
    pruning = threading.Event()
    slow_down(monkeypatch, content, "_prune_versions", "req0", pruning)
    put, revert = both(cozy, lambda c: c.put(fid, b"v2"),
                       lambda c: (pruning.wait(10), c.post(f"/files/revert/{v0}"))[1])  # fmt: skip
    assert (put.status_code, revert.status_code) == (200, 404)
    assert referenced_but_missing(cozy, s3_client, fid) == []
    assert b"".join(cozy.get(f"/files/download/{fid}").streaming_content) == b"v2"


def test_two_reverts_of_one_version(cozy, s3_client, monkeypatch):
    fid = doc_id(cozy.upload("doc.txt", b"v0"))
    assert cozy.put(fid, b"v1").status_code == 200
    v0 = Version.objects.get(file__doc_id=fid).content_id
    reverting = threading.Event()
    slow_down(monkeypatch, content, "_prune_versions", "req0", reverting)
    first, second = both(cozy, lambda c: c.post(f"/files/revert/{v0}"),
                         lambda c: (reverting.wait(10), c.post(f"/files/revert/{v0}"))[1])  # fmt: skip
    assert (first.status_code, second.status_code) == (200, 404)
    node = Node.objects.get(instance=cozy.instance, doc_id=fid)
    assert node.content_id == v0
    assert list(Version.objects.filter(file=node).values_list("content_id", flat=True)) != [v0]
    assert referenced_but_missing(cozy, s3_client, fid) == []


def test_crossed_moves_make_no_cycle(cozy, monkeypatch):
    a, b = doc_id(cozy.mkdir("A")), doc_id(cozy.mkdir("B"))
    c = doc_id(cozy.mkdir("C", b))  # /B/C
    checked = threading.Event()
    slow_down(monkeypatch, attributes, "check_move_target", "req0", checked)  # PATCH lives in attributes.py
    first, second = both(cozy, lambda cl: cl.patch(a, dir_id=c),  # A into /B/C
                         lambda cl: (checked.wait(10), cl.patch(b, dir_id=a))[1])  # B into A  # fmt: skip
    assert (first.status_code, second.status_code) == (200, 409)  # into itself: a 409
    for doc in (a, b, c):
        assert ROOT in [n.doc_id for n in ancestors(Node.objects.get(instance=cozy.instance, doc_id=doc))]
