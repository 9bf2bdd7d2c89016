"""The Drive's export page in a real browser, with a real worker: request an export, watch it
get done, download a part (a zip holding the files and the metadata)."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from cozy.exports.models import Export
from tests.cozyclient import Cozy
from tests.test_drive_ui import PASSWORD, Site, browser, make_site, open_page, shot, static_files, worker_server  # noqa: F401 - browser, static_files, worker_server: fixtures

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def site(worker_server, celery_worker, browser) -> Site:  # noqa: F811 - the fixture imported above
    return make_site(worker_server)


@pytest.fixture
def page(browser, site) -> Iterator[Page]:  # noqa: F811
    page = open_page(browser, site)
    yield page
    errors = page.js_errors  # type: ignore[attr-defined]
    page.context.close()
    assert errors == [], errors


def test_request_an_export_follow_it_and_download_a_part(page: Page, site: Site, celery_worker, tmp_path):
    from cozy.instances.models import Token

    _, token = Token.issue(site.instance)
    cozy = Cozy(site.instance, token, Client())
    assert cozy.upload("été.txt", b"des vacances\n" * 1000, content_type="text/plain").status_code == 201
    assert cozy.upload("photo.bin", b"\x89PNG" * 50_000).status_code == 201

    page.goto("/drive/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/drive/$"))
    page.get_by_role("link", name="Export my data").click()
    expect(page).to_have_url(re.compile(r"/drive/settings/exports$"))
    expect(page.get_by_role("heading", name="Export my data")).to_be_visible()
    expect(page.locator("#export-current")).to_be_hidden()  # no export yet

    page.get_by_role("button", name="Request an export").click()
    card = page.locator("#export-current")
    expect(card).to_be_visible()
    expect(page.get_by_role("button", name="Request an export")).to_be_disabled()
    expect(card).to_have_attribute("data-state", "done", timeout=90_000)  # polled until the worker is done
    expect(page.locator("#export-status")).to_contain_text("Ready: 1 part(s)")
    shot(page, "exports-done")
    export = Export.objects.get(instance=site.instance)
    assert export.state == "done", celery_worker.log()[-3000:]

    link = page.get_by_role("link", name=re.compile(r"Download part 1 \("))
    with page.expect_download() as info:
        link.click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.stat().st_size == export.parts[0]["size"]
    with zipfile.ZipFile(saved) as archive:
        assert archive.testzip() is None  # every entry's CRC holds
        assert archive.read("files/été.txt") == b"des vacances\n" * 1000
        assert archive.read("files/photo.bin") == b"\x89PNG" * 50_000
        meta = json.loads(archive.read("cozy-export.json"))
    assert sorted(r["name"] for r in meta["files"] if r["type"] == "file") == ["photo.bin", "été.txt"]

    page.reload()  # the page finds the export again, and offers a new one
    expect(page.locator("#export-current")).to_have_attribute("data-state", "done")
    expect(page.get_by_role("button", name="Request an export")).to_be_enabled()
