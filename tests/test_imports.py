"""Import: an export brought into a fresh instance gives the same tree, ids, dates, contents,
versions and trash; a refused or failed import leaves the instance empty."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from cozy.exports.importer import ImportRefused, import_parts
from cozy.exports.models import Export, ImportJob
from cozy.exports.runner import run_export
from cozy.exports.services import token_for
from cozy.exports.sources import opened_parts
from cozy.files.models import ROOT_ID, TRASH_ID, Node, Version
from cozy.files.names import mime_class
from cozy.instances.models import Instance
from cozy.instances.services import org_bucket
from cozy.storage.stores import store_for
from tests.cozyclient import Cozy, make_instance
from tests.exporttree import MiB, build_tree, index_of, md5, part_bytes
from tests.test_deletion import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def exported(fs_url, settings) -> tuple[Cozy, Export]:
    return make_export(settings)


def make_export(settings) -> tuple[Cozy, Export]:
    settings.COZY_EXPORT_PART_SIZE = 1 * MiB  # several parts
    instance, token = make_instance("alice.localhost", "alice", org="imp")
    cozy = Cozy(instance, token, Client())
    build_tree(cozy, big=2 * MiB)
    store_for(instance, "avatar").put("avatar", b"\x89PNG avatar bytes")
    export = Export.objects.create(instance=instance, expires_at=timezone.now() + timedelta(days=1))  # no message
    assert run_export(export.pk) == "done"
    export.refresh_from_db()
    assert len(export.parts) >= 2
    return cozy, export


def objects(s3_client, instance: Instance) -> list[str]:
    listed = s3_client.list_objects(org_bucket(instance), prefix=instance.key_prefix, recursive=True)
    return sorted(o.object_name.removeprefix(instance.key_prefix) for o in listed)


def contents_of(instance: Instance) -> list[tuple[str, str]]:
    """(file id, MD5 of the stored bytes) of every content and version."""
    store = store_for(instance, "files")
    return sorted((o.name.split("/")[0], md5(b"".join(store.read(o.name)))) for o in store.list())


def without_content_ids(index: dict[str, dict]) -> dict[str, dict]:
    """An export imported on the cozy that made it gets fresh content (version) ids."""
    return {k: {**v, "content_id": bool(v["content_id"]), "versions": [x[1:] for x in v["versions"]]}
            for k, v in index.items()}


def assert_same_instance(source: Instance, target: Instance) -> None:
    assert without_content_ids(index_of(target)) == without_content_ids(index_of(source))
    assert contents_of(target) == contents_of(source)
    for node in Node.objects.filter(instance=target, type="file"):  # each content where the index says
        assert md5(b"".join(store_for(target, "files").read(f"{node.doc_id}/{node.content_id}"))) == node.md5
    assert b"".join(store_for(target, "avatar").read("avatar")) == b"\x89PNG avatar bytes"
    rows = Node.objects.filter(instance=target).exclude(doc_id__in=(ROOT_ID, TRASH_ID))
    seqs = [n.seq for n in rows]
    assert 0 not in seqs and len(set(seqs)) == len(seqs)  # each row has its place in the change feed
    assert all(n.mime_class == mime_class(n.mime) for n in rows if n.type == "file")


def test_import_from_a_manifest_url_restores_everything(exported, s3_client):
    source, export = exported
    target, _ = make_instance("bob.localhost", "bob", org="imp")
    url = f"https://{source.host}/move/exports/{token_for(export)}"
    out = io.StringIO()
    call_command("instances", "import", target.domain, url, stdout=out)
    assert "imported 5 files, 7 contents" in out.getvalue()
    assert_same_instance(source.instance, target)
    names = {n.name for n in Node.objects.filter(instance=target)}
    assert {"Dossier été 📁", "日本語", "naïve 文件.txt", "old ñ.bin"} <= names
    # the target is no longer empty: a second import is refused and changes nothing
    before = objects(s3_client, target)
    with pytest.raises(CommandError, match="not empty"):
        call_command("instances", "import", target.domain, url, stdout=io.StringIO())
    assert objects(s3_client, target) == before


def test_import_from_local_parts(exported, tmp_path):
    source, export = exported
    paths = []
    for part in export.parts:
        path = tmp_path / f"part-{part['n']}.zip"
        path.write_bytes(part_bytes(export, part["n"]))
        paths.append(str(path))
    target, _ = make_instance("carol.localhost", "carol", org="imp")
    with pytest.raises(CommandError, match="part"):  # the metadata is in the last part, and counts them
        call_command("instances", "import", target.domain, paths[0], stdout=io.StringIO())
    call_command("instances", "import", target.domain, *paths, stdout=io.StringIO())
    assert_same_instance(source.instance, target)


def damaged(data: bytes) -> bytes:
    """One byte flipped in the middle: inside the stored 2 MiB photo of the largest part."""
    at = len(data) // 2
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


@pytest.mark.parametrize("case", ["corrupt", "quota", "not-a-zip", "bad-token"])
def test_a_refused_import_leaves_the_instance_empty(exported, tmp_path, s3_client, case):
    source, export = exported
    target, _ = make_instance("dave.localhost", "dave", org="imp", quota=1000 if case == "quota" else None)
    paths = []
    for part in export.parts:
        data = part_bytes(export, part["n"])
        if case == "corrupt" and part["size"] == max(p["size"] for p in export.parts):
            data = damaged(data)
        if case == "not-a-zip" and part["n"] == 1:
            data = b"not a zip" * 100
        path = tmp_path / f"part-{part['n']}.zip"
        path.write_bytes(data)
        paths.append(str(path))
    sources = [f"https://{source.host}/move/exports/{token_for(export)}x"] if case == "bad-token" else paths
    expected = {"corrupt": "damaged", "quota": "quota", "not-a-zip": "not a zip", "bad-token": "invalid"}[case]
    with pytest.raises(CommandError, match=expected):
        call_command("instances", "import", target.domain, *sources, stdout=io.StringIO())
    assert objects(s3_client, target) == []
    assert sorted(Node.objects.filter(instance=target).values_list("doc_id", flat=True)) == [
        "io.cozy.files.root-dir", "io.cozy.files.trash-dir"]
    assert Path(paths[0]).exists()


def test_api_precheck_and_import_through_a_worker(celery_worker, settings):
    source, export = make_export(settings)  # on the worker's storage URL
    instance, token = make_instance("erin.localhost", "erin", org="imp")
    target = Cozy(instance, token, Client())
    url = f"https://{source.host}/move/exports/{token_for(export)}"

    def post(path: str, who: Cozy, manifest: str):
        return who.client.post(path, data=json.dumps({"manifest_url": manifest}), content_type="application/json",
                               **who._h())

    assert post("/move/imports/precheck", target, url).status_code == 204
    assert post("/move/imports/precheck", target, url + "x").status_code == 412
    assert post("/move/imports/precheck", target, "https://elsewhere.example/move/exports/t").status_code == 412
    assert post("/move/imports/precheck", source, url).status_code == 409  # not empty
    instance.quota_bytes = 100
    instance.save(update_fields=["quota_bytes"])  # save(): the host lookup cache forgets the row
    assert post("/move/imports/precheck", target, url).status_code == 413
    instance.quota_bytes = None
    instance.save(update_fields=["quota_bytes"])
    assert Client().post("/move/imports", data="{}", content_type="application/json",
                         HTTP_HOST=target.host).status_code == 401

    resp = post("/move/imports", target, url)
    assert resp.status_code == 202, resp.content
    state = resp.json()["data"]["links"]["self"]

    def finished() -> bool:
        return target.get(state).json()["data"]["attributes"]["state"] in ("done", "failed")

    wait_for(finished, 60, "the import", celery_worker)
    attrs = target.get(state).json()["data"]["attributes"]
    assert attrs["state"] == "done", (attrs, celery_worker.log()[-3000:])
    assert attrs["bytes_done"] == attrs["bytes_total"] > 2 * MiB
    assert_same_instance(source.instance, instance)
    assert ImportJob.objects.get(instance=instance).sources == []  # the token is not kept


def test_api_takes_cozy_stack_json_api_bodies(exported):
    """cozy-stack's clients send {"data": {"attributes": {"url": ...}}} (application/vnd.api+json);
    ours send {"manifest_url": ...}: both start the same import; a bad body is a clear 400."""
    source, export = exported
    instance, token = make_instance("erin.localhost", "erin", org="imp")
    target = Cozy(instance, token, Client())
    url = f"https://{source.host}/move/exports/{token_for(export)}"

    def post(path: str, body: object, content_type: str = "application/vnd.api+json"):
        raw = body if isinstance(body, str) else json.dumps(body)
        return target.client.post(path, data=raw, content_type=content_type, **target._h())

    for body in ({"data": {"attributes": {"url": url}}}, {"data": {"type": "io.cozy.imports", "attributes": {
            "manifest_url": url, "wipe": False}}}, {"url": url}, {"manifest_url": url, "url": url}):  # fmt: skip
        assert post("/move/imports/precheck", body).status_code == 204, body
    assert post("/move/imports/precheck", {"manifest_url": url}, "application/json").status_code == 204
    form = target.client.post("/move/imports/precheck", data={"url": url, "wipe": "false"}, **target._h())
    assert form.status_code == 204, form.content  # an HTML form's fields
    nul = target.client.post("/move/imports/precheck", data={"url": url + "\x00"}, **target._h())
    assert nul.status_code == 400 and "NUL" in nul.json()["errors"][0]["detail"]  # the text rule, in forms too
    bad = {
        "": "manifest URL", "[]": "JSON object", "{": "not valid JSON", '{"data": []}': '"data" must be an object',
        json.dumps({"data": {"attributes": "x"}}): '"data" must be an object',
        json.dumps({"data": {"attributes": {}}}): "manifest URL",
        json.dumps({"data": {"attributes": {"url": 3}}}): "non-empty string",
        json.dumps({"url": url, "manifest_url": url + "x"}): "differ",
        json.dumps({"url": url, "wipe": "yes"}): '"wipe" must be true or false',
    }  # fmt: skip
    for body, detail in bad.items():
        for path in ("/move/imports/precheck", "/move/imports"):
            resp = post(path, body)
            assert resp.status_code == 400, (path, body, resp.content)
            assert detail in resp.json()["errors"][0]["detail"], (body, resp.json())
    # cozy-stack's link to its settings page is not a manifest: said so, not fetched
    stack_link = {"data": {"attributes": {"url": "https://settings.alice.example/#/exports/AAAA"}}}
    resp = post("/move/imports/precheck", stack_link)
    assert resp.status_code == 412 and "cozy-stack export link" in resp.json()["errors"][0]["detail"]
    assert ImportJob.objects.filter(instance=instance).count() == 0
    resp = post("/move/imports", {"data": {"attributes": {"url": url}}})
    assert resp.status_code == 202, resp.content
    job = ImportJob.objects.get(instance=instance)
    assert job.sources == [url] and not job.wipe
    assert resp.json()["data"]["id"] == str(job.pk)


def test_import_from_another_cozy_over_http(http_server, settings):
    """The parts are read by ranged GETs from a real server, as from another cozy."""
    settings.COZY_EXPORT_PART_SIZE = 1 * MiB
    domain = f"127.0.0.1:{http_server.port}"
    instance, token = make_instance(domain, "alice", org="imp")
    build_tree(Cozy(instance, token, Client()), big=2 * MiB)
    store_for(instance, "avatar").put("avatar", b"\x89PNG avatar bytes")
    export = Export.objects.create(instance=instance, expires_at=timezone.now() + timedelta(days=1))
    assert run_export(export.pk) == "done"
    url = f"http://{domain}/move/exports/{token_for(Export.objects.get(pk=export.pk))}"
    target, _ = make_instance("bob.localhost", "bob", org="imp")
    with opened_parts([url], prefer_local=False) as parts:
        plan = import_parts(target, parts)
    assert len(plan.pieces) == 7
    assert_same_instance(instance, target)
    # a refused token on the other side is a clear refusal, nothing imported
    other, _ = make_instance("carol.localhost", "carol", org="imp")
    with pytest.raises(ImportRefused, match="refused the manifest"), opened_parts([url + "x"], prefer_local=False):
        pass
    with pytest.raises(ImportRefused, match="may not fetch"), opened_parts([url], remote=[], prefer_local=False):
        pass
    assert Node.objects.filter(instance=other).count() == 2


def test_two_imports_at_once_one_wins_and_the_loser_keeps_its_contents(exported):
    source, export = exported
    expected = index_of(source.instance)
    # As from another cozy: the archive's content ids are used by no row here, so both imports
    # write the same names.
    Version.objects.filter(file__instance=source.instance).delete()
    Node.objects.filter(instance=source.instance).update(content_id="")
    target, _ = make_instance("fay.localhost", "fay", org="imp")
    url = f"https://{source.host}/move/exports/{token_for(export)}"

    def the_other_import_commits_first(plan) -> None:
        with opened_parts([url]) as parts:
            import_parts(target, parts)

    with opened_parts([url]) as parts, pytest.raises(ImportRefused, match="not empty"):
        import_parts(target, parts, on_plan=the_other_import_commits_first)
    assert index_of(target) == expected  # ids kept, content ids included
    store = store_for(target, "files")
    for node in Node.objects.filter(instance=target, type="file"):  # the winner's contents are all there
        assert md5(b"".join(store.read(f"{node.doc_id}/{node.content_id}"))) == node.md5
        for version in Version.objects.filter(file=node):
            assert md5(b"".join(store.read(f"{node.doc_id}/{version.content_id}"))) == version.md5
