"""The Drive web UI in a real browser: Debian's Chromium driven by Playwright.

The page talks only to the files API of the web server of the real run (gunicorn's
gevent worker, cozy.core.web), which stores on the session's real S3 server.
Screenshots of the main views go to test-artifacts/.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.test.utils import modify_settings
from playwright.sync_api import Browser, Page, expect, sync_playwright

from cozy.files.errors import error_document
from cozy.files.models import Node, Version
from cozy.instances.models import Instance
from tests.cozyclient import make_instance, md5_b64
from tests.httpserver import start_gunicorn, stop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PASSWORD = "a long and cozy passphrase"
MiB = 1024 * 1024


@dataclass
class Site:
    url: str
    instance: Instance


class RealServer:
    """Where pytest-django's live_server runs Django's threaded test server, this is the
    web server of the real run, so the pages meet its timeouts, body reading and streaming.
    The same interface: ``url``."""

    def __init__(self, port: int):
        self.url = f"http://localhost:{port}"
        # pytest-django's _live_server_helper enables this around every test that names a
        # live_server fixture, this one included: the test's own client gets the host too.
        self._live_server_modified_settings = modify_settings(ALLOWED_HOSTS={"append": "localhost"})


@pytest.fixture(scope="module")
def static_files() -> None:
    """The real run serves what collectstatic gathered (whitenoise reads it at start-up)."""
    call_command("collectstatic", interactive=False, verbosity=0)


@pytest.fixture
def live_server(transactional_db, fs_url, static_files, tmp_path) -> Iterator[RealServer]:
    """The real run's web server on this test's storage."""
    with real_server(fs_url, tmp_path) as server:
        yield server


@contextlib.contextmanager
def real_server(fs_url: str, tmp_path: Path, **env: str) -> Iterator[RealServer]:
    """gunicorn as ``./scripts/run`` starts it (cozy.core.web.web_command), on the test database
    and ``fs_url``, with ``env`` (its settings come from there); stopped after the test."""
    server = start_gunicorn(fs_url, tmp_path / "gunicorn.log", extra_env=env)
    try:
        # what pytest-django gives a test that names live_server (it enables the server's own
        # override on top: the two nest), for the gallery's and the worker's servers too
        with modify_settings(ALLOWED_HOSTS={"append": "localhost"}):
            yield RealServer(server.port)
    finally:
        stop(server)


@pytest.fixture
def worker_server(celery_worker, static_files, tmp_path) -> Iterator[RealServer]:
    """Sending its jobs to the test's worker, on the worker's storage."""
    with real_server(celery_worker.fs_url, tmp_path, COZY_CELERY_QUEUE=celery_worker.queue) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (scripts/test does it)")
    # Playwright's sync API runs an event loop in this thread, which makes Django
    # refuse ORM calls from the test itself; they are not made from async code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def make_site(live_server, *, quota: int | None = None) -> Site:
    """alice's instance at the live server's address, with a password to log in."""
    port = urlsplit(live_server.url).port
    instance, _ = make_instance(f"localhost:{port}", "alice", quota=quota)
    owner = instance.owner
    owner.set_password(PASSWORD)
    owner.save()
    return Site(url=live_server.url, instance=instance)


@pytest.fixture
def site(live_server, fs_url, s3_client, browser) -> Site:
    return make_site(live_server)


def open_page(browser: Browser, site: Site, *, width: int = 1280, height: int = 820) -> Page:
    context = browser.new_context(base_url=site.url, viewport={"width": width, "height": height},
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.js_errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda err: page.js_errors.append(str(err)))  # type: ignore[attr-defined]
    watch_network(page)
    return page


def watch_network(page: Page, keep: int = 80) -> None:
    """The page's last requests and their answers, shown beside a failed test (tests/conftest.py):
    what the page asked for, and got, before a wait ran out."""
    log: collections.deque[str] = collections.deque(maxlen=keep)
    start = time.monotonic()

    def note(text: str) -> None:
        log.append(f"{time.monotonic() - start:8.3f} s  {text}")

    def where(url: str) -> str:
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query[:60]}" if parts.query else "")

    page.on("request", lambda r: note(f"-> {r.method} {where(r.url)}"))
    page.on("response", lambda r: note(f"<- {r.status} {where(r.url)}"))
    page.on("requestfailed", lambda r: note(f"!! {r.failure} {where(r.url)}"))
    page.on("console", lambda m: note(f"console {m.type}: {m.text[:200]}"))
    page.network_log = log  # type: ignore[attr-defined]


@pytest.fixture
def page(browser, site) -> Iterator[Page]:
    page = open_page(browser, site)
    yield page
    errors = page.js_errors  # type: ignore[attr-defined]
    page.context.close()
    assert errors == [], errors


def login(page: Page, username: str = "alice", password: str = PASSWORD) -> None:
    page.goto("/drive/")
    expect(page).to_have_url(re.compile(r"/auth/login\?next=/drive/$"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def login_ok(page: Page) -> None:
    login(page)
    expect(page).to_have_url(re.compile(r"/drive/$"))
    expect(page.locator("#crumbs-current")).to_have_text("My files")


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    page.screenshot(path=str(ARTIFACTS / f"drive-{name}.png"), full_page=full_page)


def row(page: Page, name: str):
    return page.locator(f'#rows tr[data-name="{name}"]')


def choose(page: Page, name: str, action: str) -> None:
    """Pick an action from the row menu of the entry called name."""
    page.get_by_role("button", name=f"Actions for {name}", exact=True).click()
    page.get_by_role("menuitem", name=action, exact=True).click()


def upload_item(page: Page, name: str):
    return page.locator(f'#upload-list li[data-name="{name}"]')


def expect_uploaded(page: Page, name: str, timeout: float = 60_000) -> None:
    item = upload_item(page, name)
    expect(item).to_have_attribute("data-state", "done", timeout=timeout)
    expect(item.locator("progress")).to_have_attribute("value", "100")
    expect(item.locator(".upload-percent")).to_have_text("100%")


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def sha256(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


def download(page: Page, locator, like: Path, tmp_path: Path) -> Path:
    with page.expect_download() as info:
        locator.click()
    saved = tmp_path / "downloads" / info.value.suggested_filename
    saved.parent.mkdir(exist_ok=True)
    info.value.save_as(saved)
    assert info.value.suggested_filename == like.name
    return saved


# Records every value each upload's progress bar takes, to check it climbs to 100.
WATCH_PROGRESS = """() => {
  window.progressSeen = {};
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.target.tagName !== "PROGRESS") continue;
      const name = r.target.closest("li").dataset.name;
      (window.progressSeen[name] ||= []).push(Number(r.target.value));
    }
  }).observe(document.getElementById("upload-list"), {subtree: true, attributes: true, attributeFilter: ["value"]});
}"""

# Drops files made in the page on the file list, as a drag from the desktop would.
DROP_FILES = """(files) => {
  const transfer = new DataTransfer();
  for (const [name, text] of Object.entries(files)) transfer.items.add(new File([text], name, {type: "text/plain"}));
  const target = document.getElementById("rows");
  for (const type of ["dragenter", "dragover", "drop"]) {
    target.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: transfer}));
  }
}"""


def test_pages_need_an_instance_and_its_owner(live_server, fs_url, s3_client):
    site = make_site(live_server)
    host = urlsplit(site.url).netloc
    client = Client()
    assert client.get("/", HTTP_HOST=host)["Location"] == "/drive/"
    assert client.get("/drive/", HTTP_HOST=host)["Location"] == "/auth/login?next=/drive/"
    exports = "/drive/settings/exports"
    assert client.get(exports, HTTP_HOST=host)["Location"] == f"/auth/login?next={exports}"
    for path in ("/", "/drive/", "/auth/login"):
        assert client.get(path, HTTP_HOST="nowhere.localhost").status_code == 404
    mallory = get_user_model().objects.create_user("mallory", password=PASSWORD)
    # another account cannot log in here, and a session of another account gets a 403
    resp = client.post("/auth/login", {"username": "mallory", "password": PASSWORD}, HTTP_HOST=host)
    assert resp.status_code == 200 and b"correct username and password" in resp.content
    client.force_login(mallory)
    resp = client.get("/drive/", HTTP_HOST=host)
    assert resp.status_code == 403 and b"Not your cozy" in resp.content and b"does not own" in resp.content
    resp = client.get(exports, HTTP_HOST=host)
    assert resp.status_code == 403 and b"log in as the owner of this cozy" in resp.content
    client.force_login(site.instance.owner)
    assert client.get(exports, HTTP_HOST=host).status_code == 200
    resp = client.get("/drive/", HTTP_HOST=host)
    assert resp.status_code == 200 and "csrftoken" in resp.cookies
    assert "default-src 'self'" in resp["Content-Security-Policy"]


def test_breadcrumbs_and_the_address_follow_the_folder(site, page):
    """Back, forward and reload come back to the same folder; crumbs lead to every ancestor."""
    from cozy.files.content import create_directory

    a = create_directory(site.instance, "io.cozy.files.root-dir", "Alpha")
    b = create_directory(site.instance, a.doc_id, "Beta")
    create_directory(site.instance, b.doc_id, "Gamma")
    login_ok(page)
    expect(page.locator("#storage-text")).to_have_text("0 B used")  # no quota: no bar
    row(page, "Alpha").get_by_role("link", name="Alpha").click()
    row(page, "Beta").get_by_role("link", name="Beta").click()
    row(page, "Gamma").get_by_role("link", name="Gamma").click()
    crumbs = page.get_by_role("navigation", name="Breadcrumbs")
    expect(page.locator("#crumbs-current")).to_have_text("Gamma")
    expect(crumbs.get_by_role("link")).to_have_text(["My files", "Alpha", "Beta"])
    gamma_url = page.url
    assert "#/folder/" in gamma_url
    shot(page, "breadcrumbs", full_page=False)
    page.reload()
    expect(page.locator("#crumbs-current")).to_have_text("Gamma")
    expect(crumbs.get_by_role("link")).to_have_text(["My files", "Alpha", "Beta"])
    page.go_back()
    expect(page.locator("#crumbs-current")).to_have_text("Beta")
    expect(row(page, "Gamma")).to_be_visible()
    page.go_back()
    expect(page.locator("#crumbs-current")).to_have_text("Alpha")
    page.go_forward()
    expect(page.locator("#crumbs-current")).to_have_text("Beta")
    crumbs.get_by_role("link", name="My files").click()
    expect(page.locator("#crumbs-current")).to_have_text("My files")
    expect(row(page, "Alpha")).to_be_visible()
    page.goto(gamma_url)  # a shared or bookmarked address
    expect(page.locator("#crumbs-current")).to_have_text("Gamma")
    expect(page).to_have_title("Gamma · Drive · Cozy")


def test_login_page(site, page):
    login(page, password="wrong")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    page.get_by_label("Password").fill("")
    shot(page, "login")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#crumbs-current")).to_have_text("My files")
    expect(page.get_by_text("This folder is empty")).to_be_visible()
    # static files come from the app itself
    assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).position") == "sticky"
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_browse_upload_download_rename_move_trash(site, page, tmp_path):
    login_ok(page)
    shot(page, "empty")

    # a new folder, from the keyboard; Escape closes a dialog and gives focus back
    page.get_by_role("button", name="New folder").click()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_role("button", name="New folder")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="New folder")).to_be_visible()
    page.keyboard.type("Projects")
    page.keyboard.press("Enter")
    expect(row(page, "Projects")).to_be_visible()

    # three files at once, one of 50 MiB: every progress bar reaches 100%
    big = write(tmp_path / "pick" / "big.bin", os.urandom(50 * MiB))
    notes = write(tmp_path / "pick" / "notes.txt", b"things to do\n" * 100)
    photo = write(tmp_path / "pick" / "photo.png", b"\x89PNG\r\n\x1a\n" + os.urandom(3000))
    page.evaluate(WATCH_PROGRESS)
    page.locator("#upload-input").set_input_files([big, notes, photo])
    for path in (big, notes, photo):
        expect_uploaded(page, path.name, timeout=90_000)
        expect(row(page, path.name)).to_be_visible()
    seen = page.evaluate("window.progressSeen")
    assert seen["big.bin"][-1] == 100 and seen["big.bin"] == sorted(seen["big.bin"]), seen
    expect(page.locator("#uploads-summary")).to_have_text("3 of 3 done")
    expect(row(page, "big.bin").locator(".col-size")).to_have_text("52.4 MB")
    shot(page, "uploads")
    page.get_by_role("button", name="Clear finished uploads").click()
    expect(page.locator("#uploads")).to_be_hidden()

    # download streams the very bytes that were uploaded
    saved = download(page, row(page, "big.bin").locator("a.name"), big, tmp_path)
    assert sha256(saved) == sha256(big)

    # rename, then move into Projects with the folder picker
    choose(page, "notes.txt", "Rename")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("New name")).to_be_focused()
    dialog.get_by_label("New name").fill("notes-2024.txt")
    dialog.get_by_role("button", name="Rename").click()
    expect(row(page, "notes-2024.txt")).to_be_visible()
    expect(row(page, "notes.txt")).to_have_count(0)
    choose(page, "notes-2024.txt", "Move")
    dialog = page.get_by_role("dialog", name="Move “notes-2024.txt”")
    expect(dialog.get_by_role("button", name="Move here")).to_be_disabled()  # already there
    dialog.get_by_role("button", name="Open Projects").click()
    expect(dialog.get_by_text("Destination: Projects")).to_be_visible()
    shot(page, "move", full_page=False)
    dialog.get_by_role("button", name="Move here").click()
    expect(page.get_by_text("Moved “notes-2024.txt” to Projects.")).to_be_visible()
    expect(row(page, "notes-2024.txt")).to_have_count(0)

    # browse into the folder; breadcrumbs lead back
    row(page, "Projects").get_by_role("link", name="Projects").click()
    expect(page.locator("#crumbs-current")).to_have_text("Projects")
    expect(row(page, "notes-2024.txt")).to_be_visible()

    # drop several files at once on the list
    page.evaluate(DROP_FILES, {"a-small.txt": "a", "b-large.txt": "b" * 5000})
    expect_uploaded(page, "a-small.txt")
    expect_uploaded(page, "b-large.txt")
    expect(row(page, "b-large.txt")).to_be_visible()
    page.get_by_role("button", name="Clear finished uploads").click()

    # sort by size (largest first), then by name
    page.get_by_role("button", name="Size").click()
    names = page.locator("#rows tr").evaluate_all("rows => rows.map(r => r.dataset.name)")
    assert names == ["b-large.txt", "notes-2024.txt", "a-small.txt"]
    expect(page.locator("th.col-size")).to_have_attribute("aria-sort", "descending")
    page.get_by_role("button", name="Name").click()
    names = page.locator("#rows tr").evaluate_all("rows => rows.map(r => r.dataset.name)")
    assert names == ["a-small.txt", "b-large.txt", "notes-2024.txt"]
    shot(page, "folder")
    page.get_by_role("navigation", name="Breadcrumbs").get_by_role("link", name="My files").click()
    expect(page.locator("#crumbs-current")).to_have_text("My files")

    # trash, then restore from the trash view
    choose(page, "photo.png", "Move to trash")
    expect(page.get_by_text("Moved “photo.png” to the trash.")).to_be_visible()
    expect(row(page, "photo.png")).to_have_count(0)
    page.get_by_role("link", name="Trash").click()
    expect(page.locator("#crumbs-current")).to_have_text("Trash")
    expect(row(page, "photo.png").locator(".col-where")).to_have_text("/")
    shot(page, "trash")
    choose(page, "photo.png", "Restore")
    expect(page.get_by_text("Restored “photo.png” to My files.")).to_be_visible()
    expect(page.get_by_text("The trash is empty.")).to_be_visible()
    page.get_by_role("link", name="My files").click()
    expect(row(page, "photo.png")).to_be_visible()

    # delete forever (asks first), then empty the trash
    choose(page, "photo.png", "Move to trash")
    choose(page, "big.bin", "Move to trash")
    # the view reloads when a trash request ends: wait for it, or it may close the menu opened below
    expect(page.get_by_text("Moved “big.bin” to the trash.")).to_be_visible()
    page.get_by_role("link", name="Trash").click()
    choose(page, "photo.png", "Delete forever")
    confirm = page.get_by_role("dialog", name="Delete forever?")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    confirm.get_by_role("button", name="Delete forever").click()
    expect(row(page, "photo.png")).to_have_count(0)
    assert not Node.objects.filter(name="photo.png").exists()
    page.get_by_role("button", name="Empty trash").click()
    page.get_by_role("dialog", name="Empty the trash?").get_by_role("button", name="Empty trash").click()
    expect(page.get_by_text("The trash is empty.")).to_be_visible()
    expect(page.get_by_role("button", name="Empty trash")).to_be_disabled()
    assert not Node.objects.filter(name="big.bin").exists()


def test_versions_replace_and_restore(site, page, tmp_path):
    login_ok(page)
    first = write(tmp_path / "v1" / "report.txt", b"first draft\n" * 50)
    second = write(tmp_path / "v2" / "report.txt", b"second draft, longer\n" * 80)
    page.locator("#upload-input").set_input_files(first)
    expect_uploaded(page, "report.txt")

    # the same name again: the conflict is explained and can be resolved by replacing
    page.locator("#upload-input").set_input_files(second)
    item = upload_item(page, "report.txt").last
    expect(item).to_have_attribute("data-state", "conflict")  # a choice to make, not a failure
    expect(item.locator(".upload-status")).to_have_text(
        "Name already taken: “report.txt” already exists in this folder.")
    expect(page.locator("#uploads-summary")).to_have_text("1 of 2 done, 1 needs a choice")
    expect(row(page, "report.txt")).to_be_visible()
    shot(page, "conflict")
    item.get_by_role("button", name="Replace: report.txt").click()
    expect(item).to_have_attribute("data-state", "done")
    expect(item.locator(".upload-status")).to_contain_text("Replaced")
    assert Version.objects.filter(file__name="report.txt").count() == 1

    # the versions panel: download the old one, then restore it
    choose(page, "report.txt", "Versions")
    panel = page.get_by_role("dialog", name="Versions of “report.txt”")
    versions = panel.locator("li.version")
    expect(versions).to_have_count(2)
    shot(page, "versions", full_page=False)
    old = download(page, versions.nth(1).get_by_role("link", name="Download the version of"), first, tmp_path)
    assert sha256(old) == sha256(first)
    versions.nth(1).get_by_role("button", name="Restore the version of").click()
    expect(page.get_by_text("Restored the version of")).to_be_visible()
    expect(versions).to_have_count(2)  # the replaced content is now the old version
    page.keyboard.press("Escape")
    expect(panel).to_have_count(0)
    current = download(page, row(page, "report.txt").locator("a.name"), first, tmp_path)
    assert sha256(current) == sha256(first)


def test_over_quota_upload_says_so(live_server, fs_url, s3_client, browser, tmp_path):
    site = make_site(live_server, quota=10_000)
    page = open_page(browser, site)
    login_ok(page)
    page.locator("#upload-input").set_input_files([
        write(tmp_path / "fits.txt", b"x" * 4000), write(tmp_path / "too-big.bin", os.urandom(20_000)),
    ])
    expect_uploaded(page, "fits.txt")
    expect(page.locator("#storage-text")).to_have_text("4.0 kB of 10.0 kB used")  # GET /settings/disk-usage
    assert page.locator("#storage-fill").evaluate("el => el.style.width") == "40%"
    item = upload_item(page, "too-big.bin")
    expect(item).to_have_attribute("data-state", "failed")
    expect(item.locator(".upload-status")).to_have_text(
        "Over quota: there is not enough space left in your cozy for this file.")
    expect(item.get_by_role("button", name="Retry: too-big.bin")).to_be_visible()
    expect(row(page, "fits.txt")).to_be_visible()
    shot(page, "quota")
    assert not Node.objects.filter(name="too-big.bin").exists()
    assert page.js_errors == []  # type: ignore[attr-defined]
    page.context.close()


def test_failures_are_explained(site, page, tmp_path):
    """Faults a real server cannot be made to give on demand, forced at the network edge."""
    login_ok(page)

    def answer(status: int, detail: str):
        body = json.dumps(error_document(status, "Error", detail))
        return lambda route: route.fulfill(status=status, content_type="application/vnd.api+json", body=body)

    page.route(re.compile(r"Name=damaged\.bin$"), answer(412, "the content does not match its Content-MD5"))
    page.route(re.compile(r"Name=later\.bin$"), answer(503, "the object storage is unavailable"))
    page.route(re.compile(r"Name=odd\.bin$"), answer(400, "a name cannot contain control characters"))
    page.route(re.compile(r"Name=cut\.bin$"), lambda route: route.abort("connectionreset"))
    names = ["damaged.bin", "later.bin", "odd.bin", "cut.bin"]
    page.locator("#upload-input").set_input_files([write(tmp_path / n, os.urandom(1000)) for n in names])
    expected = {
        "damaged.bin": "Integrity check failed: the file arrived damaged, so nothing was saved. Try again.",
        "later.bin": "Storage unavailable: your files are safe, but nothing can be changed right now. Try again later.",
        "odd.bin": "A name cannot contain control characters.",
        "cut.bin": "Connection lost: the upload did not finish and nothing was saved. Try again.",
    }
    for name, message in expected.items():
        item = upload_item(page, name)
        expect(item).to_have_attribute("data-state", "failed")
        expect(item.locator(".upload-status")).to_have_text(message)
    expect(page.locator("#uploads-summary")).to_have_text("0 of 4 done, 4 failed")
    expect(upload_item(page, "odd.bin").get_by_role("button", name="Retry: odd.bin")).to_have_count(0)
    shot(page, "failures")
    # once the network is fine again, Retry uploads for real
    page.unroute(re.compile(r"Name=cut\.bin$"))
    upload_item(page, "cut.bin").get_by_role("button", name="Retry: cut.bin").click()
    expect_uploaded(page, "cut.bin")
    expect(row(page, "cut.bin")).to_be_visible()


def test_the_page_md5_matches_pythons(site, page):
    """The page hashes files itself (browsers have no MD5): same digests as hashlib, fed in pieces."""
    login_ok(page)
    sizes = [0, 1, 55, 56, 57, 63, 64, 65, 127, 128, 4 * MiB + 3]
    digests = page.evaluate("""async (sizes) => {
      const { Md5 } = await import("/static/drive/md5.js");
      return sizes.map((n) => {
        const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 255);
        const md5 = new Md5();
        for (let at = 0; at < n; at += 1000) md5.update(bytes.subarray(at, at + 1000));
        return md5.base64();
      });
    }""", sizes)
    expected = [md5_b64(bytes((i * 31 + 7) & 255 for i in range(n))) for n in sizes]
    assert digests == expected


def test_damaged_bytes_get_a_real_412(site, page, tmp_path):
    """The page sends Content-MD5: bytes changed on the way are refused by the server, nothing is stored."""
    login_ok(page)
    sent: dict[str, str | None] = {}
    data = os.urandom(200_000)

    def flip_first_byte(route):
        # Playwright does not expose a File body: send the known bytes, one of them changed.
        sent["md5"] = route.request.headers.get("content-md5")
        route.continue_(post_data=bytes([data[0] ^ 1]) + data[1:])

    pattern = re.compile(r"Name=tampered\.bin$")
    page.route(pattern, flip_first_byte)
    page.locator("#upload-input").set_input_files(write(tmp_path / "tampered.bin", data))
    item = upload_item(page, "tampered.bin")
    expect(item).to_have_attribute("data-state", "failed")
    expect(item.locator(".upload-status")).to_have_text(
        "Integrity check failed: the file arrived damaged, so nothing was saved. Try again.")
    assert sent["md5"] == md5_b64(data)
    assert not Node.objects.filter(name="tampered.bin").exists()
    # the network is fine again: Retry stores the very bytes
    page.unroute(pattern)
    item.get_by_role("button", name="Retry: tampered.bin").click()
    expect_uploaded(page, "tampered.bin")
    assert Node.objects.get(name="tampered.bin").md5 == hashlib.md5(data).hexdigest()


def test_cancel_an_upload(site, page, tmp_path):
    login_ok(page)
    # Slow the network down so that the upload is still running when cancelled.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 256 * 1024,
    })
    page.locator("#upload-input").set_input_files(write(tmp_path / "slow.bin", os.urandom(8 * MiB)))
    item = upload_item(page, "slow.bin")
    expect(item).to_have_attribute("data-state", "sending")
    expect(item.locator("progress")).not_to_have_attribute("value", "0")
    item.get_by_role("button", name="Cancel: slow.bin").click()
    expect(item).to_have_attribute("data-state", "cancelled")
    expect(item.locator(".upload-status")).to_have_text("Cancelled: nothing was saved.")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1,
    })
    page.reload()
    expect(page.get_by_text("This folder is empty")).to_be_visible()
    assert not Node.objects.filter(name="slow.bin").exists()


def test_phone_width_and_keyboard(site, browser, tmp_path):
    phone = open_page(browser, site, width=375, height=740)
    login_ok(phone)
    phone.get_by_role("button", name="New folder").click()
    phone.get_by_label("Folder name").fill("Holidays with a rather long folder name")
    phone.get_by_role("button", name="Create").click()
    phone.locator("#upload-input").set_input_files([
        write(tmp_path / "a very long file name for a small phone screen.pdf", b"%PDF-1.4\n" + b"0" * 2000),
        write(tmp_path / "song.mp3", b"ID3" + b"1" * 9000),
    ])
    expect_uploaded(phone, "song.mp3")
    expect_uploaded(phone, "a very long file name for a small phone screen.pdf")
    expect(row(phone, "song.mp3")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    shot(phone, "phone")

    # the row menu by keyboard: Enter opens it, arrows move, Escape closes it
    menu_button = phone.get_by_role("button", name="Actions for song.mp3")
    menu_button.focus()
    phone.keyboard.press("Enter")
    expect(phone.get_by_role("menuitem", name="Download")).to_be_focused()
    phone.keyboard.press("ArrowDown")
    expect(phone.get_by_role("menuitem", name="Rename")).to_be_focused()
    shot(phone, "phone-menu", full_page=False)
    phone.keyboard.press("Escape")
    expect(phone.get_by_role("menu")).to_be_hidden()
    expect(menu_button).to_be_focused()
    # F2 renames the focused row
    phone.keyboard.press("F2")
    expect(phone.get_by_role("dialog", name="Rename “song.mp3”")).to_be_visible()
    phone.keyboard.type("tune")  # the stem is selected, the extension kept
    phone.keyboard.press("Enter")
    expect(row(phone, "tune.mp3")).to_be_visible()
    assert phone.js_errors == []  # type: ignore[attr-defined]
    phone.context.close()



# Tags an element so that the test can tell whether a re-render replaced it.
TAG = "(el) => { el.probe = 'kept'; }"
KEPT = "(el) => el.probe === 'kept'"


def test_a_background_refresh_keeps_the_open_menu_the_focus_and_the_scroll(site, page, tmp_path):
    """Refreshes (after an upload, a rename, a restore) update rows in place, under menus and dialogs."""
    from cozy.files.content import create_directory

    for i in range(40):  # a list taller than the window
        create_directory(site.instance, "io.cozy.files.root-dir", f"folder {i:02d}")
    login_ok(page)
    expect(page.locator("#rows tr")).to_have_count(40)

    # a menu open by keyboard while an upload finishes and the list reloads behind it
    button = page.get_by_role("button", name="Actions for folder 03", exact=True)
    button.evaluate(TAG)
    button.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("menuitem", name="Open")).to_be_focused()
    page.locator("#upload-input").set_input_files(write(tmp_path / "a-new-file.txt", b"new"))
    expect(row(page, "a-new-file.txt")).to_be_visible()
    expect(page.get_by_role("menuitem", name="Open")).to_be_focused()  # focus stayed in the menu
    assert button.evaluate(KEPT)  # the same button, not a copy
    expect(button).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="Rename")).to_be_focused()
    page.keyboard.press("Escape")
    expect(button).to_be_focused()
    page.get_by_role("button", name="Clear finished uploads").click()

    # scrolled down: a rename near the bottom leaves the page where it was, the header out of view
    low = row(page, "folder 35")
    low.scroll_into_view_if_needed()
    before = page.evaluate("window.scrollY")
    assert before > 0
    row(page, "folder 36").evaluate(TAG)
    choose(page, "folder 35", "Rename")
    page.get_by_role("dialog").get_by_label("New name").fill("folder 35b")
    page.get_by_role("dialog").get_by_role("button", name="Rename").click()
    expect(row(page, "folder 35b")).to_be_visible()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert row(page, "folder 36").evaluate(KEPT)
    expect(page.get_by_role("button", name="Actions for folder 35b")).to_be_focused()
    assert abs(page.evaluate("window.scrollY") - before) < 2
    shot(page, "scrolled-after-rename", full_page=False)

    # trash from the keyboard: focus goes to the next row, and the page does not jump
    page.keyboard.press("Delete")
    expect(row(page, "folder 35b")).to_have_count(0)
    expect(page.get_by_role("button", name="Actions for folder 36")).to_be_focused()  # same place, next row
    after = page.evaluate("window.scrollY")
    assert before - 80 < after <= before  # at most the removed row's height, when the page got shorter


def test_the_uploads_panel_makes_room_instead_of_covering_rows(site, page, tmp_path):
    login_ok(page)
    page.locator("#upload-input").set_input_files(write(tmp_path / "one.txt", b"1"))
    expect_uploaded(page, "one.txt")
    expect(row(page, "one.txt")).to_be_visible()
    panel = page.locator("#uploads").bounding_box()
    menu = page.get_by_role("button", name="Actions for one.txt").bounding_box()
    assert menu["x"] + menu["width"] <= panel["x"], (menu, panel)  # the row ends left of the panel
    shot(page, "uploads-docked", full_page=False)


def test_the_old_views_rows_take_no_clicks_while_the_next_view_loads(site, page):
    """The trash's listing held at the network edge: the files view's rows stay on screen meanwhile,
    and a menu opened on one of them would be the files menu of a trashed file."""
    from cozy.files import trash

    login_ok(page)
    page.locator("#upload-input").set_input_files({"name": "old.txt", "mimeType": "text/plain", "buffer": b"old"})
    expect(row(page, "old.txt")).to_be_visible()
    trash.trash(site.instance, Node.objects.get(name="old.txt").doc_id)  # elsewhere: this page still lists it
    held = []
    page.route(re.compile(r"/files/io\.cozy\.files\.trash-dir\?"), lambda route: held.append(route))
    page.get_by_role("link", name="Trash").click()
    expect(page.locator("#files")).to_have_js_property("inert", True)
    expect(row(page, "old.txt")).to_be_visible()  # still the files view's row
    with pytest.raises(Exception, match="Timeout"):
        page.get_by_role("button", name="Actions for old.txt").click(timeout=1500)
    expect(page.get_by_role("menu")).to_be_hidden()
    assert len(held) == 1
    held[0].continue_()
    page.unroute(re.compile(r"/files/io\.cozy\.files\.trash-dir\?"))
    expect(page.locator("#crumbs-current")).to_have_text("Trash")
    choose(page, "old.txt", "Delete forever")  # the trash's menu, on the trash's row
    page.get_by_role("dialog", name="Delete forever?").get_by_role("button", name="Delete forever").click()
    expect(page.get_by_text("The trash is empty.")).to_be_visible()


def test_select_several_and_act_on_them_at_once(site, page, tmp_path):
    from cozy.files.content import create_directory

    create_directory(site.instance, "io.cozy.files.root-dir", "Box")
    login_ok(page)
    files = {n: write(tmp_path / n, f"content of {n}\n".encode() * 50) for n in ("a.txt", "b.txt", "c.txt", "d.txt")}
    page.locator("#upload-input").set_input_files(list(files.values()))
    for name in files:
        expect_uploaded(page, name)
        expect(row(page, name)).to_be_visible()
    page.get_by_role("button", name="Clear finished uploads").click()

    # click, shift-click for a range, ctrl-click to take one out
    page.get_by_role("checkbox", name="Select a.txt").click()
    page.get_by_role("checkbox", name="Select c.txt").click(modifiers=["Shift"])
    bar = page.get_by_role("toolbar", name="Selected items")
    expect(bar.locator("#selection-count")).to_have_text("3 selected")
    row(page, "b.txt").locator(".col-size").click(modifiers=["Control"])
    expect(bar.locator("#selection-count")).to_have_text("2 selected")
    expect(page.locator("#rows tr[aria-selected=true]")).to_have_count(2)
    expect(page.get_by_role("checkbox", name="Select all")).to_have_js_property("indeterminate", True)
    shot(page, "selection", full_page=False)

    # one zip, made while it downloads
    with page.expect_download() as info:
        bar.get_by_role("button", name="Download").click()
    assert info.value.suggested_filename == "My files.zip"
    saved = tmp_path / "sel.zip"
    info.value.save_as(saved)
    import zipfile

    with zipfile.ZipFile(saved) as zf:
        assert sorted(zf.namelist()) == ["a.txt", "c.txt"]
        assert zf.read("c.txt") == files["c.txt"].read_bytes()

    # move both into Box with the folder picker
    bar.get_by_role("button", name="Move", exact=True).click()
    dialog = page.get_by_role("dialog", name="Move “2 items”")
    dialog.get_by_role("button", name="Open Box").click()
    dialog.get_by_role("button", name="Move here").click()
    expect(page.get_by_text("Moved 2 items to Box.")).to_be_visible()
    expect(row(page, "a.txt")).to_have_count(0)
    expect(bar).to_be_hidden()  # the moved rows went, and their selection with them
    assert sorted(Node.objects.filter(parent__name="Box").values_list("name", flat=True)) == ["a.txt", "c.txt"]

    # Ctrl+A from the list, then to the trash, all at once
    page.get_by_role("button", name="Actions for b.txt").focus()
    page.keyboard.press("Control+a")
    expect(bar.locator("#selection-count")).to_have_text("3 selected")  # Box, b.txt, d.txt
    page.keyboard.press("Escape")
    expect(bar).to_be_hidden()
    page.get_by_role("checkbox", name="Select b.txt").click()
    page.get_by_role("checkbox", name="Select d.txt").click()
    bar.get_by_role("button", name="Move to trash").click()
    expect(page.get_by_text("Moved 2 items to the trash.")).to_be_visible()
    expect(page.locator("#rows tr")).to_have_count(1)

    # in the trash: select all, restore one by a checkbox, delete the other forever
    page.get_by_role("link", name="Trash").click()
    expect(page.locator("#crumbs-current")).to_have_text("Trash")
    page.get_by_role("checkbox", name="Select b.txt").click()
    bar.get_by_role("button", name="Restore").click()
    expect(page.get_by_text("Restored 1 item.")).to_be_visible()
    page.get_by_role("checkbox", name="Select all").check()
    expect(bar.locator("#selection-count")).to_have_text("1 selected")
    bar.get_by_role("button", name="Delete forever").click()
    page.get_by_role("dialog", name="Delete forever?").get_by_role("button", name="Delete forever").click()
    expect(page.get_by_text("The trash is empty.")).to_be_visible()
    assert not Node.objects.filter(name="d.txt").exists() and Node.objects.filter(name="b.txt").exists()


def test_search_as_you_type_and_the_recent_view(site, page):
    from cozy.files.content import create_directory
    from cozy.instances.models import Token
    from tests.cozyclient import Cozy

    work = create_directory(site.instance, "io.cozy.files.root-dir", "Work")
    reports = create_directory(site.instance, work.doc_id, "Reports")
    _, token = Token.issue(site.instance)
    api = Cozy(site.instance, token, Client())
    for name, folder in (("budget report.pdf", reports.doc_id), ("Report card.txt", None), ("notes.txt", None)):
        assert api.upload(name, b"x", folder or "io.cozy.files.root-dir").status_code == 201  # oldest first
    login_ok(page)

    # results as you type, each with its folder; the focus stays in the box
    box = page.get_by_role("searchbox", name="Search files and folders by name")
    box.press_sequentially("rep")
    expect(page.locator("#crumbs-current")).to_have_text("Results for “rep”")
    expect(page.locator("#rows tr")).to_have_count(3)  # the folder Reports, and two files
    box.press_sequentially("ort")
    expect(page.locator("#crumbs-current")).to_have_text("Results for “report”")
    expect(row(page, "budget report.pdf").locator(".col-where")).to_have_text("My files/Work/Reports")
    expect(row(page, "Report card.txt").locator(".col-where")).to_have_text("My files")
    expect(box).to_be_focused()
    assert "#/search/report" in page.url
    shot(page, "search", full_page=False)
    page.reload()  # the address keeps the search
    expect(page.get_by_role("searchbox")).to_have_value("report")
    expect(page.locator("#rows tr")).to_have_count(3)
    # a folder among the results opens; Escape in the box goes back where the search began
    row(page, "Reports").get_by_role("link", name="Reports").click()
    expect(page.locator("#crumbs-current")).to_have_text("Reports")
    expect(page.get_by_role("searchbox")).to_have_value("")
    box.fill("nothing like this")
    expect(page.get_by_text("Nothing is named like “nothing like this”.")).to_be_visible()
    box.press("Escape")
    expect(page.locator("#crumbs-current")).to_have_text("Reports")

    # Recent: the last changed files first, across folders
    page.get_by_role("link", name="Recent").click()
    expect(page.locator("#crumbs-current")).to_have_text("Recent")
    names = page.locator("#rows tr").evaluate_all("rows => rows.map(r => r.dataset.name)")
    assert names == ["notes.txt", "Report card.txt", "budget report.pdf"]
    expect(row(page, "budget report.pdf").locator(".col-where")).to_have_text("My files/Work/Reports")
    shot(page, "recent", full_page=False)


def test_upload_a_whole_folder(site, page, tmp_path):
    top = tmp_path / "pick" / "album"
    files = {"cover.txt": b"cover", "2024/jan.txt": b"january" * 100, "2024/raw/img.bin": os.urandom(20_000)}
    for rel, data in files.items():
        write(top / rel, data)
    login_ok(page)
    page.locator("#folder-input").set_input_files(top)  # the folder picker (webkitdirectory)
    for rel in files:
        expect_uploaded(page, rel.rsplit("/", 1)[-1])
    expect(page.locator("#uploads-summary")).to_have_text("3 of 3 done")
    expect(row(page, "album")).to_be_visible()
    expect(page.locator("#storage-text")).to_have_text("20.7 kB used")
    shot(page, "folder-upload", full_page=False)
    from cozy.files.tree import fullpath

    stored = {fullpath(n): n for n in Node.objects.filter(instance=site.instance, type="file")}
    assert sorted(stored) == ["/album/2024/jan.txt", "/album/2024/raw/img.bin", "/album/cover.txt"]
    assert stored["/album/2024/raw/img.bin"].md5 == hashlib.md5(files["2024/raw/img.bin"]).hexdigest()
    row(page, "album").get_by_role("link", name="album").click()
    row(page, "2024").get_by_role("link", name="2024").click()
    expect(row(page, "jan.txt")).to_be_visible()
    expect(row(page, "raw")).to_be_visible()

    # the same folder again: its folders are reused, each file is a name clash to choose about
    page.get_by_role("navigation", name="Breadcrumbs").get_by_role("link", name="My files").click()
    page.get_by_role("button", name="Clear finished uploads").click()
    page.locator("#folder-input").set_input_files(top)
    expect(page.locator("#uploads-summary")).to_have_text("0 of 3 done, 3 need a choice")
    assert Node.objects.filter(instance=site.instance, name="album").count() == 1
