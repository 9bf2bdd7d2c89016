"""The quota's counters (files.Usage, kept by the database's triggers) against the sums over
the index, after every kind of change; fsck finds a counter that drifted and counts again.
Marked ``sqlite``: run on PostgreSQL in CI's main run, and again on SQLite."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.test import Client

from cozy.files.area import forget
from cozy.files.index_sql import usage
from cozy.files.models import Node, Usage, Version
from cozy.instances.models import Instance
from tests.cozyclient import TRASH, Cozy, doc_id, make_instance
from tests.test_files_api import assert_error

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sqlite]


def summed(instance: Instance) -> tuple[int, int]:
    """The truth, through the ORM: what the counters must say."""
    files = Node.objects.filter(instance=instance, type=Node.Type.FILE).aggregate(s=Sum("size"))["s"] or 0
    versions = Version.objects.filter(file__instance=instance).aggregate(s=Sum("size"))["s"] or 0
    return files, versions


def assert_counted(*instances: Instance) -> tuple[int, int]:
    for instance in instances:
        assert usage(instance.pk) == summed(instance)
    return usage(instances[0].pk)


@pytest.fixture
def two(fs_url, s3_client, settings):
    settings.COZY_MAX_VERSIONS = 2
    one, other = (make_instance(f"{n}.localhost", n, quota=10_000) for n in ("usa", "usb"))
    return Cozy(*one, Client()), Cozy(*other, Client())


def test_every_change_keeps_the_counters(two):
    cozy, other = two
    doc_id(other.upload("theirs.bin", b"o" * 700))  # the other instance's bytes never move
    fid = doc_id(cozy.upload("a.bin", b"a" * 1000))
    assert assert_counted(cozy.instance, other.instance) == (1000, 0)
    for size in (2000, 3000, 1500):  # the old contents become versions, pruned beyond 2
        assert cozy.put(fid, b"b" * size).status_code == 200
    assert assert_counted(cozy.instance, other.instance) == (1500, 5000)
    folder = doc_id(cozy.mkdir("folder"))
    inner = doc_id(cozy.upload("c.bin", b"c" * 400, folder))
    assert cozy.patch(inner, name="renamed.bin").status_code == 200  # no size changes: no write
    assert assert_counted(cozy.instance) == (1900, 5000)
    assert cozy.delete(f"/files/{folder}").status_code == 200  # the trash still counts
    assert assert_counted(cozy.instance) == (1900, 5000)
    assert cozy.delete("/files/trash").status_code in (200, 204)
    assert assert_counted(cozy.instance, other.instance) == (1500, 5000)
    assert cozy.delete(f"/files/{fid}").status_code == 200
    assert cozy.delete(f"/files/trash/{fid}").status_code == 204  # the file and its versions, for good
    assert assert_counted(cozy.instance, other.instance) == (0, 0)
    assert usage(other.instance.pk) == (700, 0)
    assert Node.objects.filter(instance=cozy.instance, parent_id__isnull=False, trashed=False).exclude(
        doc_id=TRASH).count() == 0


def test_the_quota_reads_the_counters(two):
    cozy, _ = two
    doc_id(cozy.upload("big.bin", b"x" * 9000))
    assert_error(cozy.upload("more.bin", b"y" * 1001), 413, cozy)  # 10,000 left 1,000
    assert cozy.upload("fits.bin", b"y" * 1000).status_code == 201
    assert assert_counted(cozy.instance) == (10_000, 0)
    attrs = cozy.get("/settings/disk-usage").json()["data"]["attributes"]
    assert (attrs["used"], attrs["files"], attrs["versions"]) == ("10000", "10000", "0")


def test_bulk_changes_and_raw_sql_go_through_the_triggers(two):
    cozy, other = two
    instance = cozy.instance
    root = Node.objects.get(instance=instance, doc_id="io.cozy.files.root-dir")
    Node.objects.bulk_create([Node(instance=instance, type=Node.Type.FILE, name=f"n{i}", parent=root, size=i,
                                   content_id=f"c{i}") for i in range(1, 301)])  # fmt: skip
    assert assert_counted(instance) == (sum(range(1, 301)), 0)
    first = Node.objects.get(instance=instance, name="n1")
    Version.objects.create(file=first, content_id="old", size=55, md5="0" * 32, created_at=dt.datetime.now(dt.UTC))
    Node.objects.filter(instance=instance, name__startswith="n2").update(size=1)  # n2, n2x, n2xx: 1 byte each
    shrunk = [2, *range(20, 30), *range(200, 300)]
    assert assert_counted(instance) == (sum(range(1, 301)) - sum(shrunk) + len(shrunk), 55)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM files_node WHERE instance_id = %s AND name = %s", [instance.pk, "n300"])
    assert assert_counted(instance) == (sum(range(1, 301)) - sum(shrunk) + len(shrunk) - 300, 55)
    forget(instance)  # instance deletion's first phase: versions, then nodes, in bulk
    assert usage(instance.pk) == (0, 0)
    pk = instance.pk
    Instance.objects.filter(pk=pk).delete()
    assert not Usage.objects.filter(instance_id=pk).exists()  # no row outlives its instance
    assert usage(other.instance.pk) == summed(other.instance)


def fsck(domain: str, *flags: str) -> list[dict]:
    out = io.StringIO()
    try:
        call_command("fsck", domain, "--json", *flags, stdout=out)
    except SystemExit:
        pass  # anomalies found: reported on stdout
    return [line for line in map(json.loads, out.getvalue().splitlines()) if line.get("type") == "usage_mismatch"]


def test_fsck_finds_a_drifted_counter_and_counts_again(two):
    cozy, other = two
    doc_id(cozy.upload("a.bin", b"a" * 300))
    assert fsck(cozy.host) == []
    Usage.objects.filter(instance_id=cozy.instance.pk).update(files=9990, versions=5)  # as a partial restore would
    found = fsck(cozy.host)
    assert [(a["counted"], a["summed"]) for a in found] == [({"files": 9990, "versions": 5},
                                                             {"files": 300, "versions": 0})]
    assert_error(cozy.upload("b.bin", b"b" * 9700), 413, cozy)  # the counter leaves 5 bytes
    fixed = fsck(cozy.host, "--fix")
    assert [a["fix"] for a in fixed] == ["counted again: 300 bytes of files, 0 of versions"]
    assert usage(cozy.instance.pk) == (300, 0) and fsck(cozy.host) == []
    assert cozy.upload("b.bin", b"b" * 9700).status_code == 201
    assert usage(other.instance.pk) == (0, 0)
