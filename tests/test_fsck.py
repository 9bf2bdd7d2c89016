"""fsck against a real S3 server, a real database and a real Celery worker.

Every anomaly is injected directly in S3 or in the database; the reports are
asserted exactly.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from minio import Minio

from cozy.files.models import Node, Version
from cozy.fsck.models import FsckRun, LostFile
from cozy.fsck.tasks import fsck_all, fsck_instance
from cozy.instances.models import Instance
from cozy.instances.services import org_bucket
from cozy.storage.buckets import ensure_system_buckets
from s3util import make_client, parse_fs_url
from tests import s3servers, worker
from tests.cozyclient import ROOT, TRASH, Cozy, doc_id, make_instance

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.s3contract]
ROOT_DIR = Path(__file__).resolve().parent.parent


# -- helpers ---------------------------------------------------------------------
def fsck(domain: str, *flags: str) -> tuple[int, list[dict], dict]:
    """Run the command in-process: (exit status, anomaly lines, summary)."""
    out = io.StringIO()
    args = [domain] if domain else []
    try:
        call_command("fsck", *args, *flags, stdout=out)
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    summaries = [line["summary"] for line in lines if "summary" in line]
    return code, [line for line in lines if "type" in line], (summaries[-1] if summaries else {})


def brief(lines: list[dict]) -> list[tuple[str, str, str, str]]:
    return sorted((a["type"], a.get("file_id", ""), a.get("object", ""), a.get("detail", "")) for a in lines)


def put(client: Minio, instance: Instance, rel: str, data: bytes = b"x" * 10, md5: str | None = None) -> None:
    md5 = md5 or hashlib.md5(data).hexdigest()
    client.put_object(org_bucket(instance), instance.key_prefix + rel, io.BytesIO(data), len(data),
                      metadata={"md5": md5})  # fmt: skip


def keys(client: Minio, instance: Instance, prefix: str | None = None) -> list[str]:
    prefix = instance.key_prefix if prefix is None else prefix
    found = client.list_objects(org_bucket(instance), prefix=prefix, recursive=True)
    return sorted(o.object_name for o in found)


def remove(client: Minio, instance: Instance, rel: str) -> None:
    client.remove_object(org_bucket(instance), instance.key_prefix + rel)


def new_cozy(domain: str, org: str = "acme") -> Cozy:
    instance, token = make_instance(domain, domain.split(".")[0], org=org)
    return Cozy(instance, token, Client())


def upload(cozy: Cozy, name: str, data: bytes, dir_id: str = ROOT) -> Node:
    resp = cozy.upload(name, data, dir_id)
    assert resp.status_code == 201, resp.content[:200]
    return Node.objects.get(doc_id=doc_id(resp))


def mkdir(cozy: Cozy, name: str, dir_id: str = ROOT) -> Node:
    resp = cozy.mkdir(name, dir_id)
    assert resp.status_code == 201, resp.content[:200]
    return Node.objects.get(doc_id=doc_id(resp))


def rel(node: Node, content_id: str | None = None) -> str:
    return f"files/{node.doc_id}/{content_id or node.content_id}"


def wait_for(check: Callable[[], bool], timeout: float, what: str, log: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {log()[-3000:]}"
        time.sleep(0.3)


@pytest.fixture
def cozy(fs_url, s3_client) -> Cozy:
    return new_cozy("alice.localhost")


@pytest.fixture
def tree(cozy: Cozy) -> dict[str, Node]:
    """A small healthy instance: files, a version, a directory, the trash."""
    docs = mkdir(cozy, "docs")
    nodes = {
        "docs": docs,
        "a": upload(cozy, "a.txt", b"alpha" * 10, docs.doc_id),
        "b": upload(cozy, "b.txt", b"bravo"),
        "c": upload(cozy, "c.txt", b"charlie"),
        "d": upload(cozy, "d.txt", b"delta"),
        "old": upload(cozy, "old.txt", b"in the trash"),
    }
    assert cozy.put(nodes["b"].doc_id, b"bravo, second").status_code == 200
    assert cozy.delete(f"/files/{nodes['old'].doc_id}").status_code == 200
    return {k: Node.objects.get(pk=n.pk) for k, n in nodes.items()}


# -- reports ---------------------------------------------------------------------
def test_clean_instance(cozy, tree):
    code, lines, summary = fsck(cozy.host, "--json")
    assert (code, lines) == (0, [])
    # five current contents + one version, all listed and all in the index
    assert summary == {"anomalies": 0, "by_type": {}, "objects": 6, "entries": 6, "fixed": 0}


def test_each_store_anomaly_is_reported_exactly(cozy, tree, s3_client, settings):
    inst = cozy.instance
    a, b, c, d = tree["a"], tree["b"], tree["c"], tree["d"]
    version = Version.objects.get(file=b)
    remove(s3_client, inst, rel(a))  # content missing
    remove(s3_client, inst, rel(b, version.content_id))  # version missing
    stray_id, stray_cid = secrets.token_hex(16), secrets.token_hex(16)
    put(s3_client, inst, f"files/{stray_id}/{stray_cid}")  # orphan of no file
    extra_cid = secrets.token_hex(16)
    put(s3_client, inst, f"files/{c.doc_id}/{extra_cid}")  # orphan next to a live content
    put(s3_client, inst, f"thumbs/{stray_id}/{stray_cid}-small")  # thumbnail of no file
    put(s3_client, inst, f"thumbs/{c.doc_id}/{c.content_id}-small")  # a good thumbnail
    put(s3_client, inst, "junk/left-over")  # outside the layout
    put(s3_client, inst, "avatar")  # part of the layout
    Node.objects.filter(pk=c.pk).update(size=c.size + 1)  # size mismatch
    Node.objects.filter(pk=d.pk).update(md5="0" * 32)  # md5 mismatch

    code, lines, summary = fsck(cozy.host, "--json")
    assert code == 1
    assert brief(lines) == sorted([
        ("content_mismatch", c.doc_id, rel(c), "size"),
        ("content_mismatch", d.doc_id, rel(d), "md5"),
        ("filesystem_missing", a.doc_id, rel(a), ""),
        ("index_missing", "", f"files/{c.doc_id}/{extra_cid}", "content"),
        ("index_missing", "", f"files/{stray_id}/{stray_cid}", "content"),
        ("index_missing", "", "junk/left-over", "unexpected key"),
        ("thumbnail_with_no_file", "", f"thumbs/{stray_id}/{stray_cid}-small", ""),
        ("version_missing", b.doc_id, rel(b, version.content_id), ""),
    ])  # fmt: skip
    mismatch = {a_["detail"]: a_ for a_ in lines if a_["type"] == "content_mismatch"}
    assert (mismatch["size"]["index"], mismatch["size"]["store"]) == (c.size + 1, c.size)
    assert (mismatch["md5"]["index"], mismatch["md5"]["store"]) == ("0" * 32, d.md5)
    assert summary["anomalies"] == 8 and summary["by_type"]["index_missing"] == 3
    text = json.dumps(lines)
    assert org_bucket(inst) not in text and inst.db_prefix not in text


def test_deep_rereads_the_bytes(cozy, tree, s3_client):
    """Same size, metadata MD5 left as it was (bit rot): only --deep sees it."""
    d = tree["d"]
    put(s3_client, cozy.instance, rel(d), b"DELTA", md5=d.md5)
    assert fsck(cozy.host, "--json")[:2] == (0, [])
    code, lines, _ = fsck(cozy.host, "--json", "--deep")
    assert code == 1
    assert brief(lines) == [("content_mismatch", d.doc_id, rel(d), "md5")]
    assert lines[0]["store"] == hashlib.md5(b"DELTA").hexdigest()


def test_each_tree_anomaly_is_reported_exactly(cozy, tree):
    docs, b, c = tree["docs"], tree["b"], tree["c"]
    loose = mkdir(cozy, "loose")
    Node.objects.filter(pk=loose.pk).update(parent=None)  # parent missing
    Node.objects.filter(pk=b.pk).update(trashed=True)  # trashed, but not under the trash
    Node.objects.filter(pk=tree["old"].pk).update(trashed=False)  # in the trash, not trashed
    nfd = unicodedata.normalize("NFD", "café")
    upload(cozy, "café", b"composed")
    dup = upload(cozy, "cafe", b"decomposed")
    Node.objects.filter(pk=dup.pk).update(name=nfd)  # the same name once normalized
    p = mkdir(cozy, "p")
    q = mkdir(cozy, "q", p.doc_id)
    Node.objects.filter(pk=p.pk).update(parent=q)  # p and q are each other's parent
    mkdir(cozy, "below", q.doc_id)
    Node.objects.filter(pk=c.pk).update(parent=tree["a"])  # parent is a file

    code, lines, _ = fsck(cozy.host, "--json")
    assert code == 1
    assert brief(lines) == sorted([
        ("index_cycle", min(p.doc_id, q.doc_id), "", "2 directories"),
        ("index_duplicate_name", dup.doc_id, "", ""),
        ("index_orphan_tree", c.doc_id, "", "parent is a file"),
        ("index_orphan_tree", loose.doc_id, "", "no parent"),
        ("not_trashed_in_trash", tree["old"].doc_id, "", ""),
        ("trashed_not_in_trash", b.doc_id, "", ""),
    ])  # fmt: skip
    cycle = next(x for x in lines if x["type"] == "index_cycle")
    assert cycle["members"] == sorted([p.doc_id, q.doc_id])
    assert docs.doc_id not in json.dumps(lines)


def test_missing_trash(cozy):
    Node.objects.filter(instance=cozy.instance, doc_id=TRASH).delete()
    code, lines, _ = fsck(cozy.host, "--json")
    assert (code, brief(lines)) == (1, [("index_missing_trash", TRASH, "", "")])
    code, lines, _ = fsck(cozy.host, "--json", "--fix")
    assert lines[0]["fix"] == "recreated"
    assert fsck(cozy.host, "--json")[:2] == (0, [])


# -- --fix -----------------------------------------------------------------------
def test_fix_then_a_second_fsck_is_clean(cozy, tree, s3_client, settings):
    settings.COZY_FSCK_ORPHAN_GRACE = 0
    inst = cozy.instance
    a, b, c = tree["a"], tree["b"], tree["c"]
    version = Version.objects.get(file=b)
    remove(s3_client, inst, rel(a))
    remove(s3_client, inst, rel(b, version.content_id))
    stray = f"files/{secrets.token_hex(16)}/{secrets.token_hex(16)}"
    put(s3_client, inst, stray)
    put(s3_client, inst, f"thumbs/{secrets.token_hex(16)}/{secrets.token_hex(16)}-small")
    loose = mkdir(cozy, "loose")
    Node.objects.filter(pk=loose.pk).update(parent=None)
    Node.objects.filter(pk=c.pk).update(trashed=True)
    p = mkdir(cozy, "p")
    q = mkdir(cozy, "q", p.doc_id)
    Node.objects.filter(pk=p.pk).update(parent=q)
    dup = upload(cozy, "x", b"decomposed")
    upload(cozy, "é", b"composed")
    Node.objects.filter(pk=dup.pk).update(name=unicodedata.normalize("NFD", "é"))
    before = Node.objects.filter(instance=inst).count()

    code, lines, summary = fsck(cozy.host, "--json", "--fix")
    assert code == 1
    fixes = {(x["type"], x.get("file_id") or x["object"]): x["fix"] for x in lines}
    assert fixes == {
        ("filesystem_missing", a.doc_id): "moved to /lost+found",
        ("version_missing", b.doc_id): "version entry removed (its content was gone)",
        ("index_missing", stray): "removed",
        ("thumbnail_with_no_file", next(x["object"] for x in lines if x["type"] == "thumbnail_with_no_file")):
            "removed",
        ("index_orphan_tree", loose.doc_id): "moved to /lost+found",
        ("trashed_not_in_trash", c.doc_id): "trashed flag set to false",
        ("index_cycle", min(p.doc_id, q.doc_id)): "moved to /lost+found",
        ("index_duplicate_name", dup.doc_id): "renamed to 'é (2)'",
    }
    assert summary["fixed"] == 8
    assert fsck(cozy.host, "--json")[:2] == (0, [])
    # Nothing with content was deleted from the index; the lost file is set aside, not removed.
    assert Node.objects.filter(instance=inst).count() == before + 1  # and the lost+found directory
    lost = Node.objects.get(pk=a.pk)
    assert lost.parent.name == "lost+found" and lost.parent.parent.doc_id == ROOT
    assert LostFile.objects.get(instance=inst, doc_id=a.doc_id).former_path == "/docs/a.txt"
    assert not Version.objects.filter(file=b).exists()
    live = Node.objects.filter(instance=inst, type="file").exclude(pk=a.pk)
    assert keys(s3_client, inst) == sorted(inst.key_prefix + rel(n) for n in live)


def test_upload_in_flight_survives_fix(cozy, tree, s3_client, settings):
    """An object written but not yet committed to the index is never removed while young."""
    settings.COZY_FSCK_ORPHAN_GRACE = 3
    inst = cozy.instance
    old = f"files/{secrets.token_hex(16)}/{secrets.token_hex(16)}"
    put(s3_client, inst, old)
    time.sleep(4.5)
    in_flight = f"files/{secrets.token_hex(16)}/{secrets.token_hex(16)}"
    put(s3_client, inst, in_flight)
    code, lines, _ = fsck(cozy.host, "--json", "--fix")
    assert code == 1
    assert {x["object"]: x["fix"] for x in lines} == {
        old: "removed",
        in_flight: "kept: younger than the grace period (an upload may be in flight)",
    }
    listed = keys(s3_client, inst, inst.key_prefix + "files/")
    assert inst.key_prefix + in_flight in listed and inst.key_prefix + old not in listed


def test_neighbour_with_a_shared_textual_prefix_is_untouched(fs_url, s3_client, settings):
    settings.COZY_FSCK_ORPHAN_GRACE = 0
    abc, abc1 = new_cozy("abc.localhost"), new_cozy("abc1.localhost")
    Instance.objects.filter(pk=abc.instance.pk).update(db_prefix="abc")
    Instance.objects.filter(pk=abc1.instance.pk).update(db_prefix="abc1")
    abc.instance.refresh_from_db()
    abc1.instance.refresh_from_db()
    assert org_bucket(abc.instance) == org_bucket(abc1.instance)
    mine = upload(abc, "mine.txt", b"mine")
    theirs = [f"files/{secrets.token_hex(16)}/{secrets.token_hex(16)}", "thumbs/x/y-small", "stray"]
    for key in theirs:
        put(s3_client, abc1.instance, key)
    before = keys(s3_client, abc1.instance)
    assert len(before) == 3

    assert fsck(abc.host, "--json")[:2] == (0, [])
    code, lines, summary = fsck(abc.host, "--json", "--fix")
    assert (code, lines, summary["objects"]) == (0, [], 1)
    assert keys(s3_client, abc1.instance) == before
    assert keys(s3_client, abc.instance) == [f"abc/{rel(mine)}"]
    code, lines, _ = fsck(abc1.host, "--json")
    assert sorted(x["object"] for x in lines) == sorted(theirs)


def test_shards_give_the_same_report(cozy, tree, s3_client):
    inst = cozy.instance
    for i in range(30):
        upload(cozy, f"f{i}", bytes([i]) * (i + 1))
    for _ in range(6):
        put(s3_client, inst, f"files/{secrets.token_hex(16)}/{secrets.token_hex(16)}")
    files = list(Node.objects.filter(instance=inst, type="file").order_by("doc_id")[:8])
    for node in files[::2]:
        remove(s3_client, inst, rel(node))
    Node.objects.filter(pk=tree["b"].pk).update(trashed=True)
    whole = fsck(cozy.host, "--json")
    assert whole[0] == 1 and len(whole[1]) == 11
    sharded = fsck(cozy.host, "--json", "--shards", "7")
    assert sharded == whole


def test_command_line_exit_codes_and_errors(cozy, tree, s3_client, fs_url):
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.settings", DATABASE_URL=worker.test_database_url(),
               COZY_FS_URL=fs_url)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", "fsck", *args], cwd=ROOT_DIR, env=env,
                              capture_output=True, text=True, timeout=60)  # fmt: skip

    clean = run(cozy.host)
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout)["summary"]["anomalies"] == 0
    remove(s3_client, cozy.instance, rel(tree["d"]))
    found = run("--all")  # every instance, then the system areas: their buckets were never made here
    assert found.returncode == 2, found.stderr
    lines = [json.loads(x) for x in found.stdout.splitlines()]
    assert [x.get("type") for x in lines[:2]] == ["filesystem_missing", None]
    assert lines[2] == {"domain": "@system",
                        "error": "the bucket of system area 'apps-web' is missing (run manage.py setup_storage)"}
    ensure_system_buckets()
    found = run("--all")
    assert found.returncode == 1, found.stderr
    lines = [json.loads(x) for x in found.stdout.splitlines()]
    assert [(x["domain"], x.get("type")) for x in lines] == [
        (cozy.host, "filesystem_missing"), (cozy.host, None), ("@system", None)]
    assert lines[2]["summary"]["anomalies"] == 0
    missing = run("nobody.localhost")
    assert missing.returncode == 2 and "no such instance" in missing.stderr
    if not s3servers.signatures_checked():
        return  # moto takes any secret: the storage-down half needs a server that checks signatures
    broken = dict(env, COZY_FS_URL=fs_url.replace("secret_key=", "secret_key=wrong"))
    down = subprocess.run([sys.executable, "manage.py", "fsck", cozy.host], cwd=ROOT_DIR, env=broken,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert down.returncode == 2
    err = json.loads(down.stdout)
    assert err["domain"] == cozy.host and err["error"].startswith("object storage error")
    cfg = parse_fs_url(fs_url)
    assert org_bucket(cozy.instance) not in down.stdout + down.stderr and cfg.secret_key not in down.stdout


# -- another instance's rows hanging below ours -------------------------------------
def test_a_neighbours_row_below_ours_is_neither_reported_nor_changed(fs_url, s3_client):
    """A row of bob's whose parent is in alice's index is bob's anomaly: alice's run leaves it alone."""
    alice, bob = new_cozy("alice.localhost"), new_cozy("bob.localhost")
    e, d = mkdir(alice, "e"), mkdir(alice, "d")
    assert alice.delete(f"/files/{e.doc_id}").status_code == 200  # e is in alice's trash
    Node.objects.filter(pk=d.pk).update(parent=None)  # alice's own orphan: --fix moves it to lost+found
    y, x = upload(bob, "y.txt", b"bob's"), upload(bob, "x.txt", b"bob's too")
    Node.objects.filter(pk=y.pk).update(parent_id=e.pk)
    Node.objects.filter(pk=x.pk).update(parent_id=d.pk, trashed=True)
    before = list(Node.objects.filter(instance=bob.instance).order_by("pk").values())

    code, lines, _ = fsck(alice.host, "--json", "--fix")
    assert code == 1
    assert [(a["type"], a["file_id"], a["fix"]) for a in lines] == [
        ("index_orphan_tree", d.doc_id, "moved to /lost+found")]
    assert list(Node.objects.filter(instance=bob.instance).order_by("pk").values()) == before
    assert fsck(alice.host, "--json")[:2] == (0, [])


def test_new_content_for_a_lost_file_leaves_no_phantom_version(cozy, tree, s3_client):
    a = tree["a"]
    remove(s3_client, cozy.instance, rel(a))
    _, lines, _ = fsck(cozy.host, "--json", "--fix")
    assert [x["fix"] for x in lines] == ["moved to /lost+found"]
    assert fsck(cozy.host, "--json")[:2] == (0, [])
    assert cozy.put(a.doc_id, b"a fresh content").status_code == 200  # the owner uploads it again
    assert not Version.objects.filter(file__doc_id=a.doc_id, content_id=a.content_id).exists()
    assert not LostFile.objects.filter(doc_id=a.doc_id).exists()
    assert fsck(cozy.host, "--json")[:2] == (0, [])


# -- Celery ----------------------------------------------------------------------
def test_celery_task_gives_the_same_report_as_the_command(celery_worker, shared_fs_url):
    cozy = new_cozy("celery.localhost")
    files = [upload(cozy, f"f{i}", b"%d" % i) for i in range(12)]
    client = make_client(parse_fs_url(shared_fs_url))
    remove(client, cozy.instance, rel(files[3]))
    put(client, cozy.instance, f"files/{secrets.token_hex(16)}/{secrets.token_hex(16)}")
    Node.objects.filter(pk=files[5].pk).update(size=99)
    code, lines, summary = fsck(cozy.host, "--json")
    assert code == 1 and len(lines) == 3
    command_report = [{k: v for k, v in x.items() if k != "domain"} for x in lines]

    fsck_instance.delay(cozy.host)
    fsck_instance.delay(cozy.host, shards=3)
    fsck_all.delay()  # every instance, fanned out: here the only one
    runs = FsckRun.objects.filter(instance=cozy.instance)
    wait_for(lambda: runs.filter(state="done").count() == 3, 90, "three fsck runs", celery_worker.log)
    for run in runs:
        assert run.report["anomalies"] == command_report, run.shards
        assert run.report["summary"] == summary
    assert sorted(run.parts.count() for run in runs) == [0, 0, 4]
    # The command hands its checks to the workers with --queue, and prints the same.
    assert fsck(cozy.host, "--json", "--queue", "--shards", "2") == (code, lines, summary)
    assert runs.all().count() == 4 and runs.latest("pk").parts.count() == 3


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_output_is_a_progress_bar_and_a_table(cozy, tree, s3_client):
    remove(s3_client, cozy.instance, rel(tree["d"]))
    out = _Terminal()
    with pytest.raises(SystemExit) as exit_:
        call_command("fsck", cozy.host, stdout=out)
    assert exit_.value.code == 1
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\s", "", out.getvalue())  # no colours, no wrapping
    assert "━━━━" in text  # the progress bar
    assert "filesystem_missing" in text and tree["d"].doc_id in text
    assert f"{cozy.host}:1anomalies(5objects,6indexentries)" in text


def test_index_order_is_s3_byte_order(cozy, s3_client):
    """Ids whose order differs between byte order and a locale's (case, '-', '_', prefixes) join exactly."""
    root = Node.objects.get(instance=cozy.instance, doc_id=ROOT)
    ids = ["ab", "ab-c", "AB", "a_b", "ab_", "Ab", "b", "ab0", "a"]
    nodes = []
    for i, file_id in enumerate(ids):
        data = file_id.encode()
        node = Node.objects.create(instance=cozy.instance, doc_id=file_id, type="file", name=f"n{i}", parent=root,
                                   size=len(data), md5=hashlib.md5(data).hexdigest(), content_id=f"c{i}")  # fmt: skip
        nodes.append(node)
        if file_id != "ab-c":
            put(s3_client, cozy.instance, rel(node), data)
    put(s3_client, cozy.instance, "files/ab/zz")  # an orphan inside a live file's folder
    code, lines, summary = fsck(cozy.host, "--json")
    assert code == 1
    assert brief(lines) == [("filesystem_missing", "ab-c", "files/ab-c/c1", ""),
                            ("index_missing", "", "files/ab/zz", "content")]  # fmt: skip
    assert summary["entries"] == len(ids)
    assert fsck(cozy.host, "--json", "--shards", "3")[1] == lines
