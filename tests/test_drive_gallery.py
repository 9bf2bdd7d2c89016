"""Pictures in the Drive, in a real browser: thumbnails in the list (made by a real Celery
worker), the grid, the viewer, and the owner's avatar. Screenshots go to test-artifacts/."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from cozy.avatars.models import Avatar
from cozy.files.models import Node
from cozy.storage.buckets import ensure_org_bucket
from cozy.thumbnails.store import thumb_name, thumbs_store
from tests.images import GREEN, close, encoded, jpeg_with_orientation, marked, pdf_page
from tests.test_drive_ui import (  # noqa: F401 (browser, static_files, worker_server: fixtures)
    ARTIFACTS,
    RealServer,
    browser,
    login_ok,
    make_site,
    open_page,
    real_server,
    row,
    shot,
    static_files,
    worker_server,
)

AVATAR_MAX_BYTES = 1000

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def worker_page(worker_server, celery_worker, browser, request) -> Iterator[Page]:  # noqa: F811
    """Logged in on a site whose uploads get their thumbnails from a real worker."""
    site = make_site(worker_server)
    ensure_org_bucket(site.instance.org_id)
    page = open_page(browser, site)
    page.site = site  # type: ignore[attr-defined]
    yield page
    errors = page.js_errors  # type: ignore[attr-defined]
    page.context.close()
    # The worker's log beside the screenshots: what it received, when a picture never came.
    (ARTIFACTS / f"worker-{request.node.name}.log").write_text(celery_worker.log())
    assert errors == [], errors


@pytest.fixture
def page(transactional_db, fs_url, static_files, tmp_path, browser) -> Iterator[Page]:  # noqa: F811
    """Avatars over AVATAR_MAX_BYTES are refused: small enough for a test picture to pass it."""
    with real_server(fs_url, tmp_path, COZY_AVATAR_MAX_BYTES=str(AVATAR_MAX_BYTES)) as server:
        yield from _logged_page(server, browser)


def _logged_page(server: RealServer, browser) -> Iterator[Page]:  # noqa: F811
    site = make_site(server)
    page = open_page(browser, site)
    page.site = site  # type: ignore[attr-defined]
    yield page
    errors = page.js_errors  # type: ignore[attr-defined]
    page.context.close()
    assert errors == [], errors


def upload(page: Page, files: dict[str, tuple[str, bytes]]) -> None:
    page.locator("#upload-input").set_input_files(
        [{"name": name, "mimeType": mime, "buffer": data} for name, (mime, data) in files.items()]
    )
    for name in files:
        expect(page.locator(f'#upload-list li[data-name="{name}"]')).to_have_attribute("data-state", "done",
                                                                                          timeout=60_000)  # fmt: skip
        expect(row(page, name)).to_be_visible()
    page.get_by_role("button", name="Clear finished uploads").click()


# What an <img> shows: its size and the colours at nine points (the page's CSP keeps its
# scripts from fetching the object URL back, a canvas can read it).
SHOWN = """(img) => {
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const g = canvas.getContext("2d");
  g.drawImage(img, 0, 0);
  const points = [];
  for (const fx of [0.1, 0.5, 0.9]) for (const fy of [0.1, 0.5, 0.9]) {
    const d = g.getImageData(Math.floor(canvas.width * fx), Math.floor(canvas.height * fy), 1, 1).data;
    points.push([d[0], d[1], d[2]]);
  }
  return {size: [img.naturalWidth, img.naturalHeight], points};
}"""


def stored_thumb(page: Page, name: str, fmt: str) -> Image.Image:
    node = Node.objects.get(instance=page.site.instance, name=name)  # type: ignore[attr-defined]
    store = thumbs_store(page.site.instance)  # type: ignore[attr-defined]
    return Image.open(io.BytesIO(b"".join(store.read(thumb_name(node.doc_id, node.content_id, fmt))))).convert("RGB")


def assert_shows(img, expected: Image.Image) -> None:
    """The <img> shows this picture: same size, same colours (within JPEG decoders' differences)."""
    shown = img.evaluate(SHOWN)
    assert tuple(shown["size"]) == expected.size
    w, h = expected.size
    wanted = [expected.getpixel((int(w * fx), int(h * fy))) for fx in (0.1, 0.5, 0.9) for fy in (0.1, 0.5, 0.9)]
    assert all(close(tuple(got), want) for got, want in zip(shown["points"], wanted, strict=True)), (shown, wanted)


def test_thumbnails_in_the_list_and_the_grid_remembered(worker_page):
    page = worker_page
    login_ok(page)
    photo = jpeg_with_orientation(1600, 1200, 1, corner=100)
    upload(page, {"photo.jpg": ("image/jpeg", photo), "broken.jpg": ("image/jpeg", b"\xff\xd8\xff broken"),
                  "notes.txt": ("text/plain", b"no picture")})  # fmt: skip
    # The upload queued the job; the row asks again until the worker made it, then shows it.
    img = row(page, "photo.jpg").locator("img.thumb-img")
    expect(img).to_have_attribute("data-state", "loaded", timeout=90_000)
    assert_shows(img, stored_thumb(page, "photo.jpg", "tiny"))
    expect(img).to_have_css("opacity", "1")  # over the type icon
    # No thumbnail can be made: the 404 placeholder is never shown, the type icon stays.
    broken = row(page, "broken.jpg").locator("img.thumb-img")
    expect(broken).to_have_attribute("data-state", "missing")
    assert broken.evaluate("(i) => [i.getAttribute('src'), getComputedStyle(i).opacity]") == [None, "0"]
    expect(row(page, "broken.jpg").locator(".thumb svg")).to_be_visible()
    expect(row(page, "notes.txt").locator("img")).to_have_count(0)
    shot(page, "thumbnails", full_page=False)

    # The grid: bigger pictures (the small thumbnail), the choice kept across a reload.
    toggle = page.get_by_role("button", name="Grid view")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(page.locator("#files")).to_have_class(re.compile(r"\bgrid\b"))
    expect(img).to_have_attribute("data-key", re.compile(r":small$"))
    expect(img).to_have_attribute("data-state", "loaded", timeout=60_000)
    assert_shows(img, stored_thumb(page, "photo.jpg", "small"))
    page.reload()
    expect(page.get_by_role("button", name="Grid view")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#files")).to_have_class(re.compile(r"\bgrid\b"))
    expect(img).to_have_attribute("data-state", "loaded", timeout=60_000)
    card = row(page, "photo.jpg").bounding_box()
    assert card["width"] >= 140 and card["height"] > card["width"], card  # a card: the picture over the name
    # Selection and the row menu work on cards as on rows.
    page.get_by_role("checkbox", name="Select photo.jpg").click()
    expect(page.locator("#selection-count")).to_have_text("1 selected")
    shot(page, "grid", full_page=False)
    page.get_by_role("button", name="Clear selection").click()
    page.get_by_role("button", name="Actions for photo.jpg", exact=True).click()
    page.get_by_role("menuitem", name="Rename", exact=True).click()
    page.get_by_role("dialog").get_by_label("New name").fill("holiday.jpg")
    page.get_by_role("dialog").get_by_role("button", name="Rename").click()
    expect(row(page, "holiday.jpg").locator("img.thumb-img")).to_have_attribute("data-state", "loaded")
    page.get_by_role("button", name="Grid view").click()
    page.reload()
    expect(page.locator("#crumbs-current")).to_have_text("My files")
    expect(page.get_by_role("button", name="Grid view")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#files")).not_to_have_class(re.compile(r"\bgrid\b"))

    # A page left open past the links' 10 minutes: the old link answers 410 (at the network
    # edge here), the listing is fetched again, and the picture comes with its fresh link.
    img = row(page, "holiday.jpg").locator("img.thumb-img")
    expect(img).to_have_attribute("data-state", "loaded")
    page.route(re.compile(r"/thumbnails/[^/]+/small$"), lambda route: route.fulfill(status=410, body=GONE), times=1)
    with page.expect_request(re.compile(r"/files/io\.cozy\.files\.root-dir\?")):
        page.get_by_role("button", name="Grid view").click()
    expect(img).to_have_attribute("data-state", "loaded")
    assert_shows(img, stored_thumb(page, "holiday.jpg", "small"))


GONE = '{"errors": [{"status": "410", "title": "Gone", "detail": "this link has expired"}]}'


def focus_in_viewer(page: Page) -> bool:
    return page.evaluate("document.querySelector('dialog.viewer')?.contains(document.activeElement) ?? false")


def test_the_viewer(worker_page, tmp_path):
    page = worker_page
    login_ok(page)
    pictures = {"a.jpg": jpeg_with_orientation(1600, 1200, 1, corner=100),
                "b.png": encoded(marked(800, 600, 40), "PNG")}  # fmt: skip
    upload(page, {"a.jpg": ("image/jpeg", pictures["a.jpg"]), "b.png": ("image/png", pictures["b.png"]),
                  "c.pdf": ("application/pdf", pdf_page(595, 842)), "notes.txt": ("text/plain", b"words")})  # fmt: skip
    for name in ("a.jpg", "b.png"):
        expect(row(page, name).locator("img.thumb-img")).to_have_attribute("data-state", "loaded", timeout=90_000)

    # its large thumbnail's link has expired (410 at the network edge): the viewer gets the
    # file's document again, and shows the picture with the fresh link
    page.route(re.compile(r"/thumbnails/[^/]+/large$"), lambda route: route.fulfill(status=410, body=GONE), times=1)
    a_id = Node.objects.get(instance=page.site.instance, name="a.jpg").doc_id  # type: ignore[attr-defined]
    with page.expect_request(re.compile(rf"/files/{a_id}\?page")):
        row(page, "a.jpg").get_by_role("link", name="a.jpg").click()
    viewer = page.get_by_role("dialog", name="a.jpg")
    expect(viewer).to_be_visible()
    picture = page.locator("dialog.viewer img.viewer-img")  # whichever file it shows
    expect(viewer).to_have_attribute("data-state", "shown")
    assert_shows(picture, stored_thumb(page, "a.jpg", "large"))
    expect(viewer.locator(".viewer-position")).to_have_text("1 of 3")  # the text file is not viewable
    expect(viewer.get_by_role("button", name="Close the viewer")).to_be_focused()
    shot(page, "viewer", full_page=False)

    # arrows and buttons go across the folder's pictures and PDFs, wrapping round
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("dialog", name="b.png")).to_have_attribute("data-state", "shown")
    assert picture.evaluate("(i) => [i.naturalWidth, i.naturalHeight]") == [800, 600]  # never upscaled
    page.keyboard.press("ArrowRight")
    pdf = page.get_by_role("dialog", name="c.pdf")
    expect(pdf).to_have_attribute("data-state", "shown")
    assert picture.evaluate("(i) => i.naturalWidth") == 1080  # the PDF's preview
    expect(pdf.locator(".viewer-position")).to_have_text("3 of 3")
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("dialog", name="a.jpg")).to_be_visible()
    page.get_by_role("button", name="Previous file").click()
    expect(page.get_by_role("dialog", name="c.pdf")).to_have_attribute("data-state", "shown")
    page.get_by_role("button", name="Next file").click()
    expect(page.get_by_role("dialog", name="a.jpg")).to_have_attribute("data-state", "shown")

    # Tab goes round the viewer's controls, never out to the page
    for _ in range(7):
        page.keyboard.press("Tab")
        assert focus_in_viewer(page)
    page.keyboard.press("Shift+Tab")
    assert focus_in_viewer(page)

    # the download button gets the file itself
    with page.expect_download() as info:
        page.get_by_role("link", name="Download a.jpg").click()
    saved = tmp_path / "a.jpg"
    info.value.save_as(saved)
    assert saved.read_bytes() == pictures["a.jpg"]

    # a refresh of the list behind it (an upload ends) neither closes it nor takes its focus
    next_button = page.get_by_role("button", name="Next file")
    next_button.focus()
    page.locator("#upload-input").set_input_files({"name": "later.txt", "mimeType": "text/plain", "buffer": b"x"})
    expect(row(page, "later.txt")).to_have_count(1)
    expect(page.get_by_role("dialog", name="a.jpg")).to_be_visible()
    expect(next_button).to_be_focused()

    # Escape closes it and the focus goes back to the row of the file shown last
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("dialog", name="b.png")).to_have_attribute("data-state", "shown")
    page.keyboard.press("Escape")
    expect(page.locator("dialog.viewer")).to_have_count(0)
    expect(row(page, "b.png").locator("a.name")).to_be_focused()

    # other files still download
    with page.expect_download() as info:
        row(page, "notes.txt").get_by_role("link", name="notes.txt").click()
    assert info.value.suggested_filename == "notes.txt"
    expect(page.locator("dialog.viewer")).to_have_count(0)


# The colour at the middle of an <img>, once it is loaded.
CENTRE = """(img) => {
  if (!img.complete || !img.naturalWidth) return null;
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const g = canvas.getContext("2d");
  g.drawImage(img, 0, 0);
  return Array.from(g.getImageData(canvas.width >> 1, canvas.height >> 1, 1, 1).data.slice(0, 3));
}"""


def wait_centre(page: Page, selector: str, green: bool) -> None:
    """Wait (with the page's deadline) until the picture's middle is, or is not, our green."""
    page.wait_for_function(
        f"""([sel, green]) => {{
          const c = ({CENTRE})(document.querySelector(sel));
          if (!c) return false;
          const want = {list(GREEN)};
          return c.every((v, i) => Math.abs(v - want[i]) < 40) === green;
        }}""",
        arg=[selector, green],
    )


def test_the_avatar_in_the_header(page):
    login_ok(page)
    header = "#avatar-button img"
    wait_centre(page, header, green=False)  # the initials
    page.get_by_role("button", name="Change your picture").click()
    dialog = page.get_by_role("dialog", name="Your picture")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Choose a picture…")).to_be_focused()
    page.locator("#avatar-input").set_input_files(
        {"name": "me.png", "mimeType": "image/png", "buffer": encoded(Image.new("RGB", (64, 64), GREEN), "PNG")}
    )
    expect(page.get_by_text("Your picture was changed.")).to_be_visible()
    expect(dialog).to_have_count(0)
    wait_centre(page, header, green=True)
    etag = Avatar.objects.get(instance=page.site.instance).etag  # type: ignore[attr-defined]

    # refused: an SVG (415) and, past the limit, a large picture (413); the avatar stays
    page.get_by_role("button", name="Change your picture").click()
    page.locator("#avatar-input").set_input_files(
        {"name": "me.svg", "mimeType": "image/svg+xml", "buffer": b'<svg xmlns="http://www.w3.org/2000/svg"/>'}
    )
    alert = dialog.get_by_role("alert")
    expect(alert).to_have_text(re.compile("not a picture the cozy takes"))
    wait_centre(page, "dialog .avatar-preview", green=True)
    shot(page, "avatar-refused", full_page=False)
    page.locator("#avatar-input").set_input_files(
        {"name": "big.png", "mimeType": "image/png", "buffer": encoded(marked(400, 400, 30), "PNG", compress_level=0)}
    )
    expect(alert).to_have_text(re.compile("too large"))
    assert Avatar.objects.get(instance=page.site.instance).etag == etag  # type: ignore[attr-defined]

    # removed: the initials again
    dialog.get_by_role("button", name="Remove the picture").click()
    expect(page.get_by_text("Your picture was removed.")).to_be_visible()
    expect(page.get_by_role("button", name="Change your picture")).to_be_focused()
    wait_centre(page, header, green=False)
    assert not Avatar.objects.filter(instance=page.site.instance).exists()  # type: ignore[attr-defined]
