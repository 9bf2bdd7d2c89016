"""Exports: zip parts in the instance's exports area, their manifest and downloads."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.management import call_command
from django.test import Client

from cozy.exports.models import Export
from cozy.exports.runner import run_export
from cozy.exports.services import request_export
from cozy.instances.services import org_bucket
from tests.cozyclient import Cozy, make_instance
from tests.exporttree import MiB, build_tree, index_of, md5, metadata_of, part_bytes, zips_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cozy(fs_url) -> Cozy:
    instance, token = make_instance("alice.localhost", "alice", org="exp")
    return Cozy(instance, token, Client())


def keys(s3_client, instance) -> list[str]:
    listed = s3_client.list_objects(org_bucket(instance), prefix=instance.key_prefix + "exports/", recursive=True)
    return sorted(o.object_name.removeprefix(instance.key_prefix) for o in listed)


def test_export_writes_checked_parts_with_every_content(cozy, s3_client, settings, django_capture_on_commit_callbacks):
    settings.COZY_EXPORT_PART_SIZE = 2 * MiB  # the 3 MiB photo gets a part of its own
    tree = build_tree(cozy)
    with django_capture_on_commit_callbacks(execute=False):
        export = request_export(cozy.instance)
    assert run_export(export.pk) == "done"
    export.refresh_from_db()
    assert export.state == "done" and export.error == ""
    assert len(export.parts) >= 2
    assert keys(s3_client, cozy.instance) == sorted(f"exports/{export.part_name(p['n'])}" for p in export.parts)
    for part in export.parts:
        data = part_bytes(export, part["n"])
        assert (len(data), md5(data)) == (part["size"], part["md5"])
    zips = zips_of(export)
    assert all(zf.testzip() is None for zf in zips)
    meta = metadata_of(export)
    assert meta["format"] == "cozy-export" and meta["parts"] == len(export.parts)
    assert meta["instance"]["domain"] == "alice.localhost" and "db_prefix" not in str(meta)
    index = index_of(cozy.instance)
    records = {r["id"]: r for r in meta["files"]}
    assert set(records) == set(index)
    for file_id, row in index.items():
        rec = records[file_id]
        assert (rec["name"], rec["type"], rec["trashed"]) == (row["name"], row["type"], row["trashed"])
        if row["type"] != "file":
            continue
        data = zips[rec["part"] - 1].read(rec["entry"])
        assert (len(data), md5(data)) == (row["size"], row["md5"])
        assert [v["id"] for v in rec["versions"]] == [v[0] for v in row["versions"]]
        for v in rec["versions"]:
            assert md5(zips[v["part"] - 1].read(v["entry"])) == v["md5"]
    assert records[tree.ids["text"]]["entry"] == "files/Dossier été 📁/日本語/naïve 文件.txt"
    text_info = zips[records[tree.ids["text"]]["part"] - 1].getinfo(records[tree.ids["text"]]["entry"])
    assert text_info.compress_type == zipfile.ZIP_DEFLATED and text_info.compress_size < text_info.file_size
    big = records[tree.ids["big"]]
    assert zips[big["part"] - 1].getinfo(big["entry"]).compress_type == zipfile.ZIP_STORED
    assert records[tree.ids["trashed"]]["entry"].startswith("files/.cozy_trash/")
    assert len(records[tree.ids["versioned"]]["versions"]) == 2


def test_the_command_waits_and_prints_the_manifest_url(cozy, celery_worker):
    build_tree(cozy, big=100_000)
    out = io.StringIO()
    call_command("instances", "export", cozy.host, "--wait", stdout=out)
    export = Export.objects.get(instance=cozy.instance)
    assert export.state == "done", celery_worker.log()[-3000:]
    last = out.getvalue().strip().splitlines()[-1]
    assert last.startswith("manifest: https://alice.localhost/move/exports/")
