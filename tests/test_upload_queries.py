"""What a small upload costs the database: the statements of one 1 KiB upload, counted.

A personal cloud is mostly small files, and their rate is set by these round trips
(docs/benchmarks.md, "Files API"). The bounds are the counts of today: a change that
adds a lookup to every upload fails here, and the message lists what ran.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from cozy.files.models import Node
from cozy.storage.stores import bucket_for_org
from tests.cozyclient import Cozy, make_instance

pytestmark = pytest.mark.django_db(transaction=True)  # real transactions: no test savepoints in the count

DATA = b"x" * 1024


def _cozy(quota: int | None = None) -> Cozy:
    instance, token = make_instance("alice.localhost", "alice", quota=quota)
    return Cozy(instance, token, Client())


def _upload_statements(cozy: Cozy, name: str) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        resp = cozy.upload(name, DATA)
    assert resp.status_code == 201, resp.content
    return [q["sql"] for q in ctx.captured_queries]


def _listed(statements: list[str]) -> str:
    return "\n".join(statements)


@override_settings(COZY_LOOKUP_CACHE_TTL=0)
def test_a_small_upload_takes_few_statements(fs_url, s3_client):
    cozy = _cozy()
    _upload_statements(cozy, "first.txt")  # the instance's first change creates its feed counter
    statements = _upload_statements(cozy, "second.txt")
    assert len(statements) <= 10, _listed(statements)  # 17 before issue 14
    assert not [s for s in statements if "SAVEPOINT" in s.upper()], _listed(statements)
    assert Node.objects.filter(instance=cozy.instance, name="second.txt", size=len(DATA)).exists()


@override_settings(COZY_LOOKUP_CACHE_TTL=60)
def test_remembered_lookups_leave_the_upload_itself(fs_url, s3_client):
    """Instance, throttle and token come from the process's memory (cozy/instances/lookup_cache.py)."""
    cozy = _cozy()
    _upload_statements(cozy, "first.txt")
    statements = _upload_statements(cozy, "second.txt")
    assert len(statements) <= 7, _listed(statements)
    assert not [s for s in statements if "instances_token" in s or "cozy_throttle" in s], _listed(statements)


def test_the_quota_reads_its_counters_once_before_and_once_under_the_lock(fs_url, s3_client):
    """Never a sum over the instance's files: one counter row (files.Usage), whatever their number."""
    cozy = _cozy(quota=10 * 1024 * 1024)
    _upload_statements(cozy, "first.txt")
    statements = _upload_statements(cozy, "second.txt")
    assert not [s for s in statements if "SUM(" in s.upper()], _listed(statements)
    reads = [s for s in statements if "files_usage" in s]
    assert len(reads) == 2, _listed(statements)  # files and versions in one row
    assert len(statements) <= 12, _listed(statements)


def test_a_name_clash_is_a_409_before_any_byte_is_stored(fs_url, s3_client):
    cozy = _cozy()
    assert cozy.upload("same.txt", DATA).status_code == 201
    resp = cozy.upload("same.txt", b"other")
    assert resp.status_code == 409, resp.content
    node = Node.objects.get(instance=cozy.instance, name="same.txt")
    assert node.size == len(DATA)
    listed = s3_client.list_objects(bucket_for_org(cozy.instance.org_id), prefix=cozy.instance.key_prefix,
                                    recursive=True)
    keys = [o.object_name for o in listed]
    assert keys == [f"{cozy.instance.key_prefix}files/{node.doc_id}/{node.content_id}"]
