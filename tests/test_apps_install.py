"""Installing releases on the real SeaweedFS: stored once, under fresh keys, visible only when whole."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading

import brotli
import pytest

from cozy.apps import gc, installs
from cozy.apps.models import Installation, Kind, Release
from cozy.apps.releases import InstallError, store_of
from cozy.apps.sources import BadSource
from cozy.apps.tarball import BadTarball
from cozy.storage.buckets import ensure_system_buckets
from tests.apptars import make_tar, manifest, serve_dir, sha256_of, webapp_tar
from tests.cozyclient import make_instance
from tests.gitrepos import git_daemon, git_http, make_repo

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def buckets(fs_url):
    ensure_system_buckets()
    return fs_url


@pytest.fixture
def alice(buckets):
    return make_instance("alice.localhost", "alice")[0]


def objects(kind: str = Kind.WEB) -> list[str]:
    return sorted(o.name for o in store_of(kind).list())


def test_install_stores_each_file_once_brotli_where_worth_it(alice, tmp_path, s3_client):
    tar = webapp_tar(tmp_path / "drive.tar.gz")
    out = installs.install(alice, Kind.WEB, "drive", f"file://{tar}")
    release = out.release
    assert release.state == Release.State.READY and release.version == "1.0.0"
    assert release.sha256 == sha256_of(tar)
    names = [f"drive/{release.uid}/{p}" for p in ("app.js", "icon.png", "index.html", "manifest.webapp")]
    assert objects() == names
    js = release.entries.get(path="app.js")
    png = release.entries.get(path="icon.png")
    assert js.encoding == "br" and js.stored_size < js.size
    assert png.encoding == "" and png.stored_size == png.size == 504
    stored = b"".join(store_of(Kind.WEB).read(release.name("app.js")))
    original = b"console.log('" + b"x" * 4000 + b"');"
    assert brotli.decompress(stored) == original and js.md5 == hashlib.md5(original).hexdigest()
    store = store_of(Kind.WEB)
    meta = s3_client.stat_object(store.bucket_name, release.name("app.js")).metadata
    assert meta["x-amz-meta-original-length"] == str(len(original))
    assert meta["x-amz-meta-original-md5"] == js.md5 and meta["x-amz-meta-encoding"] == "br"
    installation = Installation.objects.get(instance=alice, slug="drive")
    assert installation.state == "ready" and installation.release == release


def test_remote_source_needs_and_checks_its_sum(alice, tmp_path):
    tar = webapp_tar(tmp_path / "drive.tar.gz")
    with serve_dir(tmp_path) as base:
        with pytest.raises(BadSource, match="sha256"):
            installs.install(alice, Kind.WEB, "drive", f"{base}/drive.tar.gz")
        wrong = "0" * 64
        with pytest.raises(InstallError, match="sha256 does not match"):
            installs.install(alice, Kind.WEB, "drive", f"{base}/drive.tar.gz#sha256={wrong}")
        assert objects() == [] and Release.objects.count() == 0
        assert Installation.objects.get(slug="drive").state == "errored"
        out = installs.install(alice, Kind.WEB, "drive", f"{base}/drive.tar.gz#sha256={sha256_of(tar)}")
    assert out.release.state == "ready" and len(objects()) == 4


def _entry(name: str, kind: bytes = tarfile.REGTYPE, size: int = 1, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name.replace("\x00", ""))
    if "\x00" in name:  # a ustar name stops at NUL: only a pax path carries one through
        info.pax_headers = {"path": name}
    info.type, info.size, info.linkname = kind, size if kind == tarfile.REGTYPE else 0, linkname
    return info


REFUSED = {
    "absolute": (_entry("/etc/passwd"), "absolute"),
    "dotdot": (_entry("a/../../x.js"), "'..'"),
    "backslash": (_entry("a\\b.js"), "backslash"),
    "nul": (_entry("a\x00b.js"), "NUL"),
    "symlink": (_entry("link.js", tarfile.SYMTYPE, linkname="/etc/passwd"), "symbolic link"),
    "hardlink": (_entry("hard.js", tarfile.LNKTYPE, linkname="index.html"), "hard link"),
    "chardev": (_entry("dev", tarfile.CHRTYPE), "device"),
    "blockdev": (_entry("blk", tarfile.BLKTYPE), "device"),
    "fifo": (_entry("fifo", tarfile.FIFOTYPE), "FIFO"),
    "duplicate": (_entry("./index.html"), "duplicate"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_entries_leave_nothing(alice, tmp_path, case):
    entry, message = REFUSED[case]
    files = {"manifest.webapp": manifest("drive", "1.0.0"), "index.html": b"<html></html>"}
    tar = make_tar(tmp_path / "bad.tar.gz", files, extra=[entry])
    with pytest.raises(BadTarball, match=message):
        installs.install(alice, Kind.WEB, "drive", f"file://{tar}")
    assert objects() == [] and Release.objects.count() == 0


def test_dots_inside_a_name_are_fine_and_names_are_normalized(alice, tmp_path):
    files = {"manifest.webapp": manifest("drive", "1.0.0"), "./a..b.js": b"ok", "css//x/./y.css": b"y{}",
             "caf\u0065\u0301.txt": b"nfc"}
    release = installs.install(alice, Kind.WEB, "drive", f"file://{make_tar(tmp_path / 't.tar.gz', files)}").release
    assert sorted(release.entries.values_list("path", flat=True)) == [
        "a..b.js", "caf\u00e9.txt", "css/x/y.css", "manifest.webapp"]


@pytest.mark.parametrize("limit, value, message", [
    ("max_files", 2, "more than 2 files"), ("max_file_size", 100, "larger than 100 bytes"),
    ("max_total", 300, "total more than 300"),
])  # fmt: skip
def test_caps(alice, tmp_path, settings, limit, value, message):
    settings.COZY_APPS_LIMITS = {limit: value}
    files = {"manifest.webapp": manifest("drive", "1.0.0"), "a.js": b"a" * 90, "b.js": b"b" * 150}
    with pytest.raises(BadTarball, match=message):
        installs.install(alice, Kind.WEB, "drive", f"file://{make_tar(tmp_path / 't.tar.gz', files)}")
    assert objects() == [] and Release.objects.count() == 0


def test_manifest_must_match(alice, tmp_path):
    tar = make_tar(tmp_path / "t.tar.gz", {"manifest.webapp": manifest("photos", "1.0.0")})
    with pytest.raises(InstallError, match="for the slug 'photos'"):
        installs.install(alice, Kind.WEB, "drive", f"file://{tar}")
    tar = make_tar(tmp_path / "k.tar.gz", {"index.js": b"1"})
    with pytest.raises(InstallError, match=r"no manifest\.konnector"):
        installs.install(alice, Kind.KONNECTOR, "bank", f"file://{tar}")
    assert objects() == [] and objects(Kind.KONNECTOR) == []


def test_not_a_tarball(alice, tmp_path):
    (tmp_path / "x.tar.gz").write_bytes(b"not gzip at all")
    with pytest.raises(BadTarball, match=r"not a valid tar\.gz"):
        installs.install(alice, Kind.WEB, "drive", f"file://{tmp_path / 'x.tar.gz'}")


def test_a_large_file_streams_through(alice, tmp_path):
    big = bytes(range(256)) * (40 * 1024 + 7)  # ~10 MiB, past the buffered size
    files = {"manifest.webapp": manifest("drive", "1.0.0"), "big.bin": big, "big.woff2": big}
    release = installs.install(alice, Kind.WEB, "drive", f"file://{make_tar(tmp_path / 't.tar.gz', files)}").release
    row = release.entries.get(path="big.bin")
    assert row.encoding == "br" and row.size == len(big) and row.md5 == hashlib.md5(big).hexdigest()
    assert brotli.decompress(b"".join(store_of(Kind.WEB).read(release.name("big.bin")))) == big
    raw = release.entries.get(path="big.woff2")
    assert raw.encoding == "" and b"".join(store_of(Kind.WEB).read(release.name("big.woff2"))) == big


def test_second_instance_reuses_the_release(alice, tmp_path):
    bob = make_instance("bob.localhost", "bob")[0]
    tar = webapp_tar(tmp_path / "drive.tar.gz")
    first = installs.install(alice, Kind.WEB, "drive", f"file://{tar}").release
    second = installs.install(bob, Kind.WEB, "drive", f"file://{tar}#sha256={sha256_of(tar)}").release
    assert first.pk == second.pk and len(objects()) == 4


@pytest.mark.parametrize("with_sum", [True, False])
def test_concurrent_installs_make_one_copy(buckets, tmp_path, with_sum):
    instances = [make_instance(f"c{i}.localhost", f"c{i}")[0] for i in range(3)]
    tar = webapp_tar(tmp_path / "drive.tar.gz", big_DOT_js=b"z" * 3_000_000)
    source = f"file://{tar}" + (f"#sha256={sha256_of(tar)}" if with_sum else "")
    results, errors = [], []
    barrier = threading.Barrier(len(instances))

    def run(instance):
        from django.db import connection
        try:
            barrier.wait()
            results.append(installs.install(instance, Kind.WEB, "drive", source).release.pk)
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in instances]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [] and len(set(results)) == 1
    assert Release.objects.count() == 1
    uid = Release.objects.get().uid
    assert objects() == sorted(f"drive/{uid}/{p}" for p in ("app.js", "big.js", "icon.png", "index.html",
                                                           "manifest.webapp"))


def test_update_switches_and_gc_collects_after_grace(alice, tmp_path):
    bob = make_instance("bob.localhost", "bob")[0]
    v1 = webapp_tar(tmp_path / "v1.tar.gz")
    v2 = webapp_tar(tmp_path / "v2.tar.gz", version="2.0.0")
    r1 = installs.install(alice, Kind.WEB, "drive", f"file://{v1}").release
    installs.install(bob, Kind.WEB, "drive", f"file://{v1}")
    r2 = installs.update(alice, Kind.WEB, "drive", f"file://{v2}").release
    assert r2.version == "2.0.0" and Installation.objects.get(instance=alice).release_id == r2.pk
    assert gc.collect(gc.timedelta(0)) == []  # bob still uses v1
    installs.uninstall(bob, Kind.WEB, "drive")
    assert gc.collect() == []  # within the grace period
    assert len(objects()) == 8
    assert gc.collect(gc.timedelta(0)) == [str(r1)]
    assert [o.split("/")[1] for o in objects()] == [r2.uid] * 4
    with pytest.raises(installs.NotInstalled):
        installs.uninstall(bob, Kind.WEB, "drive")


def test_konnector_install(alice, tmp_path):
    tar = make_tar(tmp_path / "k.tar.gz", {"manifest.konnector": manifest("bank", "3.1.0", kind="konnector"),
                                          "index.js": b"module.exports = 1;\n" * 100})
    release = installs.install(alice, Kind.KONNECTOR, "bank", f"file://{tar}").release
    assert release.kind == "konnector" and objects() == []
    assert objects(Kind.KONNECTOR) == [f"bank/{release.uid}/index.js", f"bank/{release.uid}/manifest.konnector"]


def test_tar_without_gzip_is_refused(alice, tmp_path):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("manifest.webapp")
        tar.addfile(info, io.BytesIO(b""))
    (tmp_path / "plain.tar.gz").write_bytes(raw.getvalue())
    with pytest.raises(BadTarball):
        installs.install(alice, Kind.WEB, "drive", f"file://{tmp_path / 'plain.tar.gz'}")


def test_a_dead_claim_blocks_no_install(alice, tmp_path, settings):
    tar = webapp_tar(tmp_path / "drive.tar.gz")
    dead = Release.objects.create(kind=Kind.WEB, slug="drive", sha256=sha256_of(tar))
    store_of(Kind.WEB).put(dead.name("half.js"), b"left by a crash")
    settings.COZY_APPS_STALE_INSTALL = 0
    out = installs.install(alice, Kind.WEB, "drive", f"file://{tar}#sha256={sha256_of(tar)}")
    assert out.release.pk != dead.pk and Release.objects.get(pk=dead.pk).state == "deleting"
    assert gc.collect() == [str(dead)]
    assert [o.split("/")[1] for o in objects()] == [out.release.uid] * 4


def test_an_install_whose_task_died_can_be_asked_again(alice, tmp_path, settings):
    tar = webapp_tar(tmp_path / "drive.tar.gz")
    Installation.objects.create(instance=alice, kind=Kind.WEB, slug="drive", source="file:///gone.tar.gz")
    with pytest.raises(installs.AlreadyInstalled):
        installs.install(alice, Kind.WEB, "drive", f"file://{tar}")
    settings.COZY_APPS_STALE_INSTALL = 0
    assert installs.install(alice, Kind.WEB, "drive", f"file://{tar}").installation.state == "ready"


def _version_doc(root, path: str, **doc) -> None:
    """A registry's answer, as a file the loopback server gives at ``/registry/<path>``."""
    target = root / "registry" / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(doc))


def test_registry_source_installs_the_channels_latest(alice, tmp_path, settings):
    v1, v2 = webapp_tar(tmp_path / "drive-1.tar.gz"), webapp_tar(tmp_path / "drive-2.tar.gz", version="2.0.0")
    with serve_dir(tmp_path) as base:
        settings.COZY_APPS_REGISTRY = base + "/"
        _version_doc(tmp_path, "drive/stable/latest", slug="drive", type="webapp", version="1.0.0",
                     url=f"{base}/drive-1.tar.gz", sha256=sha256_of(v1))
        _version_doc(tmp_path, "drive/2.0.0", slug="drive", type="webapp", version="2.0.0",
                     url=f"{base}/drive-2.tar.gz", sha256=sha256_of(v2))
        out = installs.install(alice, Kind.WEB, "drive", "registry://drive/stable")
        assert out.release.version == "1.0.0" and out.release.sha256 == sha256_of(v1)
        assert out.installation.source == "registry://drive/stable"
        _version_doc(tmp_path, "drive/stable/latest", slug="drive", type="webapp", version="2.0.0",
                     url=f"{base}/drive-2.tar.gz", sha256=sha256_of(v2))
        assert installs.update(alice, Kind.WEB, "drive").release.version == "2.0.0"  # the channel, asked again
        assert installs.update(alice, Kind.WEB, "drive", "registry://drive/2.0.0").release.sha256 == sha256_of(v2)


@pytest.mark.parametrize(("source", "doc", "message"), [
    ("registry://nosuch/stable", None, "has no such release"),
    ("registry://drive/stable", {"url": "BASE/drive.tar.gz", "sha256": "0" * 64}, "sha256 does not match"),
    ("registry://drive/stable", {"url": "ftp://x/drive.tar.gz", "sha256": "0" * 64}, "not http"),
    ("registry://drive/stable", {"url": "BASE/drive.tar.gz"}, "no tarball url and sha256"),
    ("registry://drive/stable", {"url": "BASE/drive.tar.gz", "sha256": "0" * 64, "type": "konnector"}, "not a webapp"),
    ("registry://drive/stable", {"url": "http://user:hunter2@127.0.0.1:9/d.tar.gz", "sha256": "0" * 64},
     "must not carry credentials"),
    ("registry://Drive/stable", None, "registry://<slug>/"),
    ("registry://drive/", None, "registry://<slug>/"),
])  # fmt: skip
def test_registry_errors_are_clear_and_leave_nothing(alice, tmp_path, settings, source, doc, message):
    webapp_tar(tmp_path / "drive.tar.gz")
    with serve_dir(tmp_path) as base:
        settings.COZY_APPS_REGISTRY = base
        if doc is not None:
            _version_doc(tmp_path, "drive/stable/latest", **{k: v.replace("BASE", base) if isinstance(v, str) else v
                                                             for k, v in doc.items()})
        with pytest.raises((BadSource, InstallError), match=message) as err:
            installs.install(alice, Kind.WEB, "drive", source)
    assert "hunter2" not in str(err.value) and base not in str(err.value)
    assert objects() == [] and Release.objects.filter(state="ready").count() == 0


def test_unreachable_registry(alice, settings):
    from s3util.seaweedfs import free_ports

    settings.COZY_APPS_REGISTRY = f"http://127.0.0.1:{free_ports(1)[0]}"
    with pytest.raises(BadSource, match="could not be reached") as err:
        installs.install(alice, Kind.WEB, "drive", "registry://drive/stable")
    assert "127.0.0.1" not in str(err.value)
    assert Installation.objects.get(slug="drive").state == "errored"


def _release_files(version: str) -> dict[str, bytes]:
    return {"manifest.webapp": manifest("drive", version), "index.html": b"<html></html>",
            "js/app.js": b"console.log(1);" * 100}


def test_git_sources_stream_the_tag(alice, tmp_path):
    make_repo(tmp_path, "drive.git", _release_files("1.0.0"), "v1.0.0")
    with git_daemon(tmp_path) as base:
        out = installs.install(alice, Kind.WEB, "drive", f"{base}/drive.git#v1.0.0")
        assert out.release.version == "1.0.0" and out.installation.source == f"{base}/drive.git#v1.0.0"
        names = sorted(e.path for e in out.release.entries.all())
        assert names == ["index.html", "js/app.js", "manifest.webapp"]
        with pytest.raises(BadSource, match="could not be fetched") as err:
            installs.install(alice, Kind.WEB, "notes", f"{base}/drive.git#v9.9.9")
        assert "127.0.0.1" not in str(err.value)
    with git_http(tmp_path) as base:  # git+http: a shallow bare clone of the tag, archived from there
        out = installs.update(alice, Kind.WEB, "drive", f"git+{base}/drive.git#v1.0.0")
        assert out.release.version == "1.0.0" and out.release.sha256 != ""
    assert len(objects()) == 3  # git archive gave the same bytes both ways: the same release, one copy


@pytest.mark.parametrize(("source", "message"), [
    ("git://127.0.0.1/drive.git#--upload-pack=touch", "tag or a branch"),
    ("git://127.0.0.1/drive.git#a..b", "tag or a branch"),
    ("git+https://user:hunter2@127.0.0.1/drive.git#v1", "credentials"),
    ("git://127.0.0.1/#v1", "git://host/path"),
])  # fmt: skip
def test_bad_git_sources_are_refused(alice, source, message):
    with pytest.raises(BadSource, match=message) as err:
        installs.install(alice, Kind.WEB, "drive", source)
    assert "hunter2" not in str(err.value)


def test_unreachable_git_source(alice):
    from s3util.seaweedfs import free_ports

    with pytest.raises(BadSource, match="could not be fetched") as err:
        installs.install(alice, Kind.WEB, "drive", f"git+https://127.0.0.1:{free_ports(1)[0]}/drive.git#v1")
    assert "127.0.0.1" not in str(err.value) and Installation.objects.get(slug="drive").state == "errored"
