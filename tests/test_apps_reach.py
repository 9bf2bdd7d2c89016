"""Owners' app sources reach public addresses only (no server-side request forgery): checked
hosts, connections pinned to the addresses checked, redirects checked, the operator's allow list."""

from __future__ import annotations

import datetime
import ipaddress
import json
import logging
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.test import Client

from cozy.apps import installs, reach
from cozy.apps.models import Installation, Kind, Release
from cozy.apps.reach import HostNotAllowed, owners_reach, public
from cozy.apps.releases import store_of
from cozy.apps.sources import BadSource
from cozy.storage.buckets import ensure_system_buckets
from tests.apptars import manifest, sha256_of, webapp_tar
from tests.cozyclient import make_instance
from tests.gitrepos import git_daemon, git_http, make_repo
from tests.worker import worker_on_own_queue

db = pytest.mark.django_db(transaction=True)
REBIND = "cozy-rebind.invalid"  # names under .invalid resolve (for the check) to 127.0.0.1 where a test says so


@dataclass
class Site:
    """A loopback HTTP server of a directory, recording each request's (path, Host)."""

    base: str
    port: int
    seen: list[tuple[str, str]] = field(default_factory=list)
    redirects: dict[str, str] = field(default_factory=dict)


@contextmanager
def site(root: Path, bind: str = "127.0.0.1", name: str | None = None,
         tls: ssl.SSLContext | None = None) -> Iterator[Site]:
    record: dict[str, Site] = {}

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self) -> None:
            record["site"].seen.append((self.path, self.headers.get("Host", "")))
            if self.path in record["site"].redirects:
                self.send_response(302)
                self.send_header("Location", record["site"].redirects[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, format, *args) -> None:
            pass

    server = ThreadingHTTPServer((bind, 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    record["site"] = Site(f"{'https' if tls else 'http'}://{name or bind}:{port}", port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield record["site"]
    finally:
        server.shutdown()
        server.server_close()


def objects() -> list[str]:
    return sorted(o.name for o in store_of(Kind.WEB).list())


@pytest.fixture
def alice(fs_url):
    ensure_system_buckets()
    return make_instance("reach.localhost", "rita")[0]


@pytest.fixture
def rebinding(monkeypatch):
    """Names under .invalid resolve to 127.0.0.1 for the check; any later lookup fails, so an
    install from one works only if the connection goes to the address checked."""
    resolve = reach._resolve
    monkeypatch.setattr(reach, "_resolve", lambda host, port: [ipaddress.ip_address("127.0.0.1")]
                        if host.endswith(".invalid") else resolve(host, port))  # fmt: skip


def tls_for(tmp_path: Path, name: str) -> tuple[Path, ssl.SSLContext]:
    """(a CA's certificate, a server context with a certificate of ``name`` that CA signed)."""
    now = datetime.datetime.now(datetime.UTC)

    def cert(subject: str, key, issuer: str, signer, ca: bool, san: list[x509.GeneralName]) -> x509.Certificate:
        builder = (x509.CertificateBuilder().subject_name(_dn(subject)).issuer_name(_dn(issuer))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))  # fmt: skip
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_cert = cert("cozy test CA", ca_key, "cozy test CA", ca_key, True, [])
    leaf = cert(name, leaf_key, "cozy test CA", ca_key, False, [x509.DNSName(name)])
    (tmp_path / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "leaf.pem")
    return tmp_path / "ca.pem", context


def _dn(name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])


# -- which addresses ----------------------------------------------------------------------
@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.1", "239.1.2.3", "255.255.255.255", "192.0.2.1", "240.0.0.1",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    "2002:7f00:1::1", "2002:a9fe:a9fe::1", "64:ff9b::7f00:1",
])  # fmt: skip
def test_addresses_that_are_not_public(address):
    assert not public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4007::65"])
def test_public_addresses(address):
    assert public(ipaddress.ip_address(address))


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LocalHost", "169.254.169.254", "::1", "0.0.0.0",
                                  "10.1.2.3", "2130706433", "0x7f000001", "127.1", "::ffff:169.254.169.254"])
def test_an_owners_reach_refuses_hosts_that_are_not_public(settings, host, caplog):
    settings.COZY_APPS_SOURCE_ALLOW = []
    with caplog.at_level(logging.WARNING, logger="cozy.apps.reach"), pytest.raises(HostNotAllowed) as err:
        owners_reach().pinned(host, 80)
    assert str(err.value).startswith(f"this source's host is not allowed: {host!r}")
    assert f"{host} resolves to" in caplog.text


def test_the_operators_sources_are_not_checked():
    assert reach.TRUSTED.pinned("127.0.0.1", 80) is None and reach.TRUSTED.pinned("localhost", 80) is None


def test_the_allow_setting_admits_its_networks_and_names(settings):
    settings.COZY_APPS_SOURCE_ALLOW = ["127.0.0.0/8", "[::1]", "Registry.LAN"]
    allowed = owners_reach()
    assert allowed.pinned("127.0.0.1", 80) == ["127.0.0.1"] and allowed.pinned("127.1", 80) == ["127.0.0.1"]
    assert allowed.pinned("::1", 80) == ["::1"]
    assert allowed.pinned("registry.lan.", 80) is None  # a name: whatever it resolves to, by name
    assert allowed.pinned("1.1.1.1", 443) == ["1.1.1.1"]  # public addresses stay allowed
    for host in ("169.254.169.254", "10.0.0.1", "::ffff:10.0.0.1"):
        with pytest.raises(HostNotAllowed):
            allowed.pinned(host, 80)


def test_the_operators_registry_host_is_trusted(settings):
    settings.COZY_APPS_SOURCE_ALLOW = []
    settings.COZY_APPS_REGISTRY = "http://registry.internal:8081/"
    assert installs.owners_reach().pinned("registry.internal", 8081) is None
    with pytest.raises(HostNotAllowed):
        installs.owners_reach().pinned("127.0.0.1", 8081)


# -- connections go to the address checked --------------------------------------------------
@db
def test_an_owners_http_source_connects_to_the_address_checked(alice, tmp_path, settings, rebinding):
    settings.COZY_APPS_SOURCE_ALLOW = ["127.0.0.0/8"]
    tar = webapp_tar(tmp_path / "drive.tar.gz")
    with site(tmp_path) as web:
        url = f"http://{REBIND}:{web.port}/drive.tar.gz#sha256={sha256_of(tar)}"
        out = installs.install(alice, Kind.WEB, "drive", url, reach=installs.owners_reach())
    assert out.release.state == "ready" and len(objects()) == 4
    assert web.seen == [("/drive.tar.gz", f"{REBIND}:{web.port}")]  # the name as Host, the address checked


@db
def test_an_owners_https_source_is_pinned_yet_checks_its_names_certificate(alice, tmp_path, settings, monkeypatch,
                                                                          rebinding):  # fmt: skip
    settings.COZY_APPS_SOURCE_ALLOW = ["127.0.0.0/8"]
    ca, context = tls_for(tmp_path, "cozy-tls.invalid")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # OpenSSL's default trust, which the pools load
    names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    tar = webapp_tar(tmp_path / "drive.tar.gz")
    with site(tmp_path, tls=context) as web:
        wrong = f"https://cozy-other.invalid:{web.port}/drive.tar.gz#sha256={sha256_of(tar)}"
        with pytest.raises(BadSource, match="could not be fetched"):  # same address, a name the certificate lacks
            installs.install(alice, Kind.WEB, "drive", wrong, reach=installs.owners_reach())
        right = f"https://cozy-tls.invalid:{web.port}/drive.tar.gz#sha256={sha256_of(tar)}"
        assert installs.install(alice, Kind.WEB, "drive", right, reach=installs.owners_reach()).release.state == "ready"
    assert web.seen == [("/drive.tar.gz", f"cozy-tls.invalid:{web.port}")]
    assert set(names) == {"cozy-other.invalid", "cozy-tls.invalid"}  # SNI: the URL's name, not the address


@db
def test_an_owners_git_sources_connect_to_the_address_checked(alice, tmp_path, settings, rebinding):
    make_repo(tmp_path, "drive.git", {"manifest.webapp": manifest("drive", "1.0.0"), "index.html": b"<html>"},
              "v1.0.0")  # fmt: skip
    settings.COZY_APPS_SOURCE_ALLOW = []
    with git_daemon(tmp_path) as base:
        with pytest.raises(HostNotAllowed):
            installs.install(alice, Kind.WEB, "drive", base + "/drive.git#v1.0.0", reach=installs.owners_reach())
        assert Installation.objects.get(slug="drive").state == "errored" and objects() == []
        settings.COZY_APPS_SOURCE_ALLOW = ["127.0.0.1"]
        source = base.replace("127.0.0.1", REBIND) + "/drive.git#v1.0.0"  # git:// is given the address
        out = installs.install(alice, Kind.WEB, "drive", source, reach=installs.owners_reach())
        assert out.release.version == "1.0.0"
    with git_http(tmp_path) as base:  # curl is told the address: REBIND never resolves for it
        source = "git+" + base.replace("127.0.0.1", REBIND) + "/drive.git#v1.0.0"
        out = installs.update(alice, Kind.WEB, "drive", source, reach=installs.owners_reach())
        assert out.installation.source == source and out.installation.state == "ready"


# -- redirects and the registry --------------------------------------------------------------
@db
def test_a_redirect_to_a_host_not_allowed_is_refused(alice, tmp_path, settings):
    settings.COZY_APPS_SOURCE_ALLOW = ["localhost"]  # the "public" host; 127.0.0.1 is not allowed
    tar = webapp_tar(tmp_path / "drive.tar.gz")
    source = f"/drive.tar.gz#sha256={sha256_of(tar)}"
    with site(tmp_path) as inner, site(tmp_path, name="localhost") as front:
        front.redirects["/drive.tar.gz"] = f"{inner.base}/drive.tar.gz"
        front.redirects["/moved.tar.gz"] = "/drive.tar.gz?x=1"
        with pytest.raises(HostNotAllowed, match=r"redirects to a host that is not allowed: '127\.0\.0\.1'"):
            installs.install(alice, Kind.WEB, "drive", front.base + source, reach=installs.owners_reach())
        assert inner.seen == [] and Release.objects.count() == 0 and objects() == []
        assert Installation.objects.get(slug="drive").state == "errored"
        moved = f"{front.base}/moved.tar.gz#sha256={sha256_of(tar)}"  # a redirect on an allowed host is followed
        assert installs.install(alice, Kind.WEB, "drive", moved, reach=installs.owners_reach()).release.state == "ready"
        assert [p for p, _ in front.seen] == ["/drive.tar.gz", "/moved.tar.gz", "/drive.tar.gz?x=1"]


def _version_doc(root: Path, path: str, **doc: str) -> None:
    target = root / "registry" / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(doc))


@db
def test_an_owners_registry_source_trusts_the_registry_host_only(alice, tmp_path, settings):
    settings.COZY_APPS_SOURCE_ALLOW = []
    tar = webapp_tar(tmp_path / "drive.tar.gz")
    with site(tmp_path) as registry:  # on loopback, yet the operator's: trusted
        settings.COZY_APPS_REGISTRY = registry.base
        _version_doc(tmp_path, "drive/stable/latest", url=f"http://localhost:{registry.port}/drive.tar.gz",
                     sha256=sha256_of(tar))  # fmt: skip
        with pytest.raises(HostNotAllowed, match="not allowed: 'localhost'"):
            installs.install(alice, Kind.WEB, "drive", "registry://drive/stable", reach=installs.owners_reach())
        assert Release.objects.count() == 0 and objects() == []
        _version_doc(tmp_path, "drive/stable/latest", url=f"{registry.base}/drive.tar.gz", sha256=sha256_of(tar))
        out = installs.install(alice, Kind.WEB, "drive", "registry://drive/stable", reach=installs.owners_reach())
    assert out.release is not None and out.release.state == "ready"


# -- the API ---------------------------------------------------------------------------------
@pytest.fixture
def owner(fs_url, tmp_path):
    """An owner's headers, her drive installed by the operator (from a file)."""
    ensure_system_buckets()
    instance, token = make_instance("reach-owner.localhost", "rose")
    installs.install(instance, Kind.WEB, "drive", f"file://{webapp_tar(tmp_path / 'drive.tar.gz')}")
    return {"HTTP_HOST": instance.domain, "HTTP_AUTHORIZATION": f"Bearer {token}"}


@db
@pytest.mark.parametrize(("source", "host"), [
    ("http://127.0.0.1:{port}/drive.tar.gz#sha256={sum}", "127.0.0.1"),
    ("http://localhost:{port}/drive.tar.gz#sha256={sum}", "localhost"),
    ("http://169.254.169.254/latest/drive.tar.gz#sha256={sum}", "169.254.169.254"),
    ("https://[::1]:{port}/drive.tar.gz#sha256={sum}", "::1"),
    ("http://2130706433:{port}/drive.tar.gz#sha256={sum}", "2130706433"),
    ("git://127.0.0.1:{port}/drive.git#v1", "127.0.0.1"),
    ("git+https://localhost:{port}/drive.git#v1", "localhost"),
    ("git+http://[::ffff:127.0.0.1]:{port}/drive.git#v1", "::ffff:127.0.0.1"),
])  # fmt: skip
def test_an_owners_source_on_a_private_host_is_refused(owner, tmp_path, settings, source, host):
    settings.COZY_APPS_SOURCE_ALLOW = []
    client, before = Client(), objects()
    drive = Installation.objects.get(slug="drive")
    with site(tmp_path) as web:
        text = quote(source.format(port=web.port, sum=sha256_of(tmp_path / "drive.tar.gz")))
        for resp in (client.post(f"/apps/notes?Source={text}", **owner),
                     client.put(f"/apps/drive?Source={text}", **owner)):
            assert resp.status_code == 400 and resp["Content-Type"] == "application/vnd.api+json"
            detail = resp.json()["errors"][0]["detail"]
            assert detail.startswith(f"this source's host is not allowed: {host!r}"), detail
        assert web.seen == []
    assert not Installation.objects.filter(slug="notes").exists()
    assert Installation.objects.get(slug="drive").release_id == drive.release_id
    assert Release.objects.count() == 1 and objects() == before


@pytest.fixture
def allowing_worker(transactional_db, shared_fs_url, settings, tmp_path):
    """A worker whose owners' sources may reach 'localhost' (by name) and 127.0.0.2."""
    allow = "localhost, 127.0.0.2"
    settings.COZY_FS_URL, settings.COZY_APPS_SOURCE_ALLOW = shared_fs_url, ["localhost", "127.0.0.2"]
    with worker_on_own_queue(shared_fs_url, tmp_path / "worker.log", {"COZY_APPS_SOURCE_ALLOW": allow}) as worker:
        yield worker


def _wait_state(client: Client, path: str, headers: dict, want: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        doc = client.get(path, **headers).json()
        if doc["data"]["attributes"]["state"] == want:
            return doc
        time.sleep(0.2)
    raise AssertionError(f"{path} never became {want}: {doc}")


def test_the_worker_installs_allowed_sources_and_refuses_redirects(allowing_worker, tmp_path):
    ensure_system_buckets()
    instance, token = make_instance("reach-api.localhost", "ria")
    headers = {"HTTP_HOST": instance.domain, "HTTP_AUTHORIZATION": f"Bearer {token}"}
    client = Client()
    tar = webapp_tar(tmp_path / "drive.tar.gz")
    notes = webapp_tar(tmp_path / "notes.tar.gz", slug="notes")
    with site(tmp_path, bind="127.0.0.2") as lan, site(tmp_path) as inner, site(tmp_path, name="localhost") as front:
        resp = client.post(f"/apps/drive?Source={quote(f'{lan.base}/drive.tar.gz#sha256={sha256_of(tar)}')}", **headers)
        assert resp.status_code == 202, resp.content
        _wait_state(client, "/apps/drive", headers, "ready")
        before = objects()
        front.redirects["/notes.tar.gz"] = f"{inner.base}/notes.tar.gz"
        source = quote(f"{front.base}/notes.tar.gz#sha256={sha256_of(notes)}")
        assert client.post(f"/apps/notes?Source={source}", **headers).status_code == 202  # localhost: allowed
        doc = _wait_state(client, "/apps/notes", headers, "errored")
        assert doc["data"]["attributes"]["error"] == "the source redirects to a host that is not allowed: '127.0.0.1'"
        assert inner.seen == [] and [p for p, _ in front.seen] == ["/notes.tar.gz"]
    assert objects() == before and not Release.objects.filter(slug="notes").exists()
    assert lan.seen == [("/drive.tar.gz", f"127.0.0.2:{lan.port}")]
