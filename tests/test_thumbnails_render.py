"""Thumbnail rendering: sizes, orientation, metadata, formats and limits, on real pictures."""

from __future__ import annotations

import hashlib
import io
import time

import pytest
from PIL import Image

from cozy.thumbnails.errors import CorruptSource, DecompressionBomb, RenderTimeout, SourceTooLarge, UnsupportedSource
from cozy.thumbnails.formats import FORMATS, has_thumbnails
from cozy.thumbnails.limits import Limits
from cozy.thumbnails.render import thumbnails_of
from tests.images import BLUE, GREEN, RED, close, encoded, jpeg_with_orientation, marked, pdf_page

BOXES = {"large": (1920, 1080), "medium": (1280, 720), "small": (640, 480)}


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def check_jpegs(thumbs, upright: tuple[int, int]) -> dict[str, Image.Image]:
    """Every format is a metadata-free JPEG of the right size; the decoded images by name."""
    assert list(thumbs) == ["large", "medium", "small", "tiny"]
    images = {}
    for name, thumb in thumbs.items():
        image = opened(thumb.data)
        assert image.format == "JPEG" and image.mode == "RGB"
        assert thumb.md5 == hashlib.md5(thumb.data).hexdigest()
        assert (thumb.width, thumb.height) == image.size
        assert not image.getexif() and "icc_profile" not in image.info and "exif" not in image.info
        if name == "tiny":
            assert image.size == (96, 96)
        else:
            bw, bh = BOXES[name]
            assert image.width <= bw and image.height <= bh
            assert bw in image.size or bh in image.size or image.size == upright  # touches its box
            assert abs(image.width / image.height - upright[0] / upright[1]) < 0.01
        images[name] = image
    return images


def test_a_12_mp_photo_turned_by_exif_gives_four_upright_jpegs():
    # Orientation 6: the camera was turned; shown upright, the stored top-left goes top-right.
    data = jpeg_with_orientation(6000, 4000, orientation=6)
    images = check_jpegs(thumbnails_of(io.BytesIO(data), "image/jpeg", size=len(data)), upright=(4000, 6000))
    assert images["large"].size == (720, 1080)
    assert images["medium"].size == (480, 720)
    assert images["small"].size == (320, 480)
    for name in ("large", "medium", "small"):
        image = images[name]
        w, h = image.size
        assert close(image.getpixel((w - 4, 4)), RED), name  # top-right
        assert close(image.getpixel((3, h - 4)), BLUE), name  # bottom-left
        assert close(image.getpixel((3, 3)), GREEN), name
        assert close(image.getpixel((w - 4, h - 4)), GREEN), name
    assert close(images["tiny"].getpixel((48, 48)), GREEN)


@pytest.mark.parametrize(("orientation", "red_at"), [(1, "tl"), (3, "br"), (8, "bl"), (2, "tr")])
def test_each_exif_orientation_is_applied(orientation, red_at):
    data = jpeg_with_orientation(1200, 800, orientation=orientation, corner=200)
    large = opened(thumbnails_of(io.BytesIO(data), "image/jpeg")["large"].data)
    w, h = large.size
    assert (w > h) == (orientation in (1, 2, 3, 4))
    corners = {"tl": (3, 3), "tr": (w - 4, 3), "bl": (3, h - 4), "br": (w - 4, h - 4)}
    assert close(large.getpixel(corners[red_at]), RED)


def test_a_small_picture_is_never_scaled_up():
    data = encoded(marked(300, 200, 20), "PNG")
    thumbs = thumbnails_of(io.BytesIO(data), "image/png")
    assert {n: (t.width, t.height) for n, t in thumbs.items()} == {
        "large": (300, 200), "medium": (300, 200), "small": (300, 200), "tiny": (96, 96),
    }  # fmt: skip
    tiny = opened(thumbnails_of(io.BytesIO(encoded(marked(60, 40, 5), "PNG")), "image/png")["tiny"].data)
    assert tiny.size == (40, 40)  # a square of the short side, not blown up to 96


def test_a_long_panorama_still_gets_a_sharp_tiny_square():
    # Small is 640x32 here: the tiny square is cut from a larger size, not from it.
    data = encoded(Image.new("RGB", (12000, 600), GREEN), "JPEG")
    thumbs = thumbnails_of(io.BytesIO(data), "image/jpeg")
    assert (thumbs["small"].width, thumbs["small"].height) == (640, 32)
    assert (thumbs["tiny"].width, thumbs["tiny"].height) == (96, 96)


@pytest.mark.parametrize(
    ("fmt", "mime", "params"),
    [("PNG", "image/png", {}), ("WEBP", "image/webp", {"quality": 90}), ("AVIF", "image/avif", {"quality": 90}),
     ("HEIF", "image/heic", {"quality": 90})],
)  # fmt: skip
def test_other_formats(fmt, mime, params):
    data = encoded(marked(1600, 1200, 200), fmt, **params)
    images = check_jpegs(thumbnails_of(io.BytesIO(data), mime), upright=(1600, 1200))
    assert images["large"].size == (1440, 1080)
    assert close(images["large"].getpixel((3, 3)), RED) and close(images["large"].getpixel((1436, 1076)), BLUE)


def test_transparency_is_flattened_on_white():
    image = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 100, 100))
    large = opened(thumbnails_of(io.BytesIO(encoded(image, "PNG")), "image/png")["large"].data)
    assert close(large.getpixel((300, 300)), (255, 255, 255)) and close(large.getpixel((10, 10)), RED)


def test_an_animated_gif_gives_its_first_frame():
    frames = [Image.new("P", (200, 100), i) for i in range(3)]
    for frame, colour in zip(frames, (RED, GREEN, BLUE), strict=True):
        frame.putpalette([*colour, *[0] * 765])
        frame.paste(0, (0, 0, 200, 100))
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    large = opened(thumbnails_of(io.BytesIO(data), "image/gif")["large"].data)
    assert large.size == (200, 100) and close(large.getpixel((100, 50)), RED)


def test_a_pdf_gives_its_sizes_from_its_first_page():
    data = pdf_page(595, 842)  # A4 portrait, in points
    images = check_jpegs(thumbnails_of(io.BytesIO(data), "application/pdf"), upright=(595, 842))
    assert images["large"].height == 1080 and images["large"].width in (763, 764)  # PDFium rounds up
    assert images["small"].height == 480 and images["small"].width in (339, 340)
    w, h = images["large"].size
    assert close(images["large"].getpixel((3, 3)), RED) and close(images["large"].getpixel((w - 4, h - 4)), BLUE)


def test_a_pdf_preview_fits_a_portrait_box():
    thumbs = thumbnails_of(io.BytesIO(pdf_page(595, 842)), "application/pdf", ["preview", "tiny"])
    preview = opened(thumbs["preview"].data)
    assert preview.width == 1080 and preview.height in (1528, 1529) and preview.format == "JPEG"
    assert opened(thumbs["tiny"].data).size == (96, 96)


def test_a_corrupt_file_is_refused_clearly():
    data = jpeg_with_orientation(2000, 1500, orientation=1)
    with pytest.raises(CorruptSource, match="corrupt or truncated"):
        thumbnails_of(io.BytesIO(data[: len(data) // 2]), "image/jpeg")
    with pytest.raises(CorruptSource, match="corrupt"):
        thumbnails_of(io.BytesIO(b"\xff\xd8\xff\xe0 not really a jpeg" * 10), "image/jpeg")
    with pytest.raises(CorruptSource, match="PDF"):
        thumbnails_of(io.BytesIO(b"%PDF-1.4\n garbage"), "application/pdf")


def test_html_svg_or_other_formats_named_as_an_image_are_not_parsed():
    # Formats outside the list are not parsed at all, even real pictures (TIFF, BMP).
    others = [encoded(Image.new("RGB", (50, 50)), fmt) for fmt in ("TIFF", "BMP")]
    for body in (b"<html><script>alert(1)</script></html>", b'<svg xmlns="http://www.w3.org/2000/svg"/>', *others):
        with pytest.raises(UnsupportedSource):
            thumbnails_of(io.BytesIO(body), "image/png")
    with pytest.raises(UnsupportedSource):
        thumbnails_of(io.BytesIO(b"text"), "text/plain")


def test_a_decompression_bomb_is_refused_before_decoding():
    # A 10,000 x 10,000 PNG of one colour: 13 KB on disk, 300 MB once decoded as RGB.
    bomb = encoded(Image.new("1", (10_000, 10_000), 0), "PNG")
    assert len(bomb) < 100_000
    started = time.perf_counter()
    with pytest.raises(DecompressionBomb, match="pixel limit"):
        thumbnails_of(io.BytesIO(bomb), "image/png")
    assert time.perf_counter() - started < 1  # refused from the header, not after decoding
    with pytest.raises(DecompressionBomb):
        thumbnails_of(io.BytesIO(encoded(Image.new("RGB", (300, 300)), "PNG")), "image/png",
                      limits=Limits(max_pixels=300 * 299))  # fmt: skip


def test_the_size_limit_is_checked_before_reading():
    class Unreadable(io.BytesIO):
        def read(self, *args):
            raise AssertionError("read")

    with pytest.raises(SourceTooLarge):
        thumbnails_of(Unreadable(), "image/jpeg", size=101 * 1024 * 1024)
    with pytest.raises(SourceTooLarge):
        thumbnails_of(Unreadable(), "image/jpeg", size=11, limits=Limits(max_bytes=10))


def test_the_time_limit_stops_a_slow_source():
    class Slow(io.BytesIO):
        def read(self, size=-1):
            time.sleep(0.02)  # a slow store: each read of the decode takes a while
            return super().read(min(size, 4096) if size and size > 0 else 4096)

    data = jpeg_with_orientation(3000, 2000, orientation=1)
    with pytest.raises(RenderTimeout) as caught:
        thumbnails_of(Slow(data), "image/jpeg", limits=Limits(time_limit=0.2))
    assert not caught.value.permanent


def test_which_files_have_thumbnails():
    assert all(has_thumbnails(m) for m in ("image/jpeg", "image/heic", "image/avif", "application/pdf"))
    assert not any(has_thumbnails(m) for m in ("image/svg+xml", "text/html", "video/mp4", ""))
    assert FORMATS["tiny"].crop and not FORMATS["large"].crop


def test_limits_come_from_the_settings(settings):
    assert Limits.from_settings() == Limits(max_bytes=100 * 1024 * 1024, max_pixels=89_478_485, time_limit=30.0)
    settings.COZY_THUMBS_MAX_BYTES = 5
    with pytest.raises(SourceTooLarge):
        thumbnails_of(io.BytesIO(b""), "image/png", size=6, limits=Limits.from_settings())
