"""Avatar checks by decoding, and the generated fallbacks."""

from __future__ import annotations

import hashlib
import io
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from cozy.avatars.fallback import PALETTE, anonymous_png, anonymous_svg, colour_of, initials, initials_png, initials_svg
from cozy.avatars.validate import MAX_SIDE, CorruptAvatar, UnsupportedAvatar, prepare_avatar
from tests.images import BLUE, RED, close, encoded, jpeg_with_orientation, marked

SVG = "{http://www.w3.org/2000/svg}"


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(
    ("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/png"), ("WEBP", "image/webp")]
)
def test_the_four_formats_are_accepted(fmt, mime):
    avatar = prepare_avatar(io.BytesIO(encoded(marked(200, 100, 20), fmt)))
    assert avatar.mime == mime and (avatar.width, avatar.height) == (200, 100)
    assert avatar.md5 == hashlib.md5(avatar.data).hexdigest()
    image = opened(avatar.data)
    assert image.format == mime.split("/")[1].upper() and image.size == (200, 100)
    assert close(image.convert("RGB").getpixel((2, 2)), RED) and close(image.convert("RGB").getpixel((197, 97)), BLUE)


def test_a_phone_photo_loses_its_metadata_and_stands_up():
    avatar = prepare_avatar(io.BytesIO(jpeg_with_orientation(3000, 2000, orientation=6, corner=300)))
    image = opened(avatar.data)
    assert image.size == (683, MAX_SIDE)  # turned upright, then fit in 1024
    assert not image.getexif() and "exif" not in image.info
    assert close(image.getpixel((image.width - 3, 3)), RED)


def test_transparency_is_kept():
    picture = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    image = opened(prepare_avatar(io.BytesIO(encoded(picture, "PNG"))).data)
    assert image.mode == "RGBA" and image.getpixel((5, 5))[3] == 0


@pytest.mark.parametrize(
    "body",
    [b"<!doctype html><script>alert(document.cookie)</script>",
     b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
     b"", b"GIF89a<script>", encoded(Image.new("RGB", (20, 20)), "TIFF"), encoded(Image.new("RGB", (20, 20)), "BMP")],
)  # fmt: skip
def test_other_types_are_refused(body):
    with pytest.raises(UnsupportedAvatar) as caught:
        prepare_avatar(io.BytesIO(body))
    assert caught.value.status == 415


def test_a_corrupt_picture_or_a_bomb_is_refused():
    data = encoded(marked(800, 800, 40), "PNG")
    with pytest.raises(CorruptAvatar) as caught:
        prepare_avatar(io.BytesIO(data[: len(data) // 2]))
    assert caught.value.status == 422
    with pytest.raises(CorruptAvatar, match="pixels"):
        prepare_avatar(io.BytesIO(encoded(Image.new("1", (8000, 8000)), "PNG")))


def test_initials():
    assert initials("Claude Monet") == "CM"
    assert initials("  alice  ") == "A"
    assert initials("Jean-Paul de la Fontaine") == "JF"
    assert initials("émile zola") == "ÉZ"
    assert initials("") == initials("  ") == initials("-- !!") == "?"


def test_initials_as_svg_escape_the_name():
    root = ET.fromstring(initials_svg("<b>Bob</b> & Co"))
    assert root.tag == f"{SVG}svg"
    assert [el.tag for el in root] == [f"{SVG}circle", f"{SVG}text"]
    assert root.find(f"{SVG}text").text == "BC"
    assert root.find(f"{SVG}circle").get("fill") == colour_of("<b>Bob</b> & Co")
    assert b"<script" not in initials_svg("<script>x</script>")


def test_initials_as_png_show_white_letters_on_the_name_colour():
    image = opened(initials_png("Claude Monet"))
    assert image.format == "PNG" and image.size == (128, 128) and image.mode == "RGBA"
    colour = tuple(int(colour_of("Claude Monet")[i : i + 2], 16) for i in (1, 3, 5))
    assert image.getpixel((0, 0))[3] == 0  # outside the disc
    assert close(image.getpixel((64, 10)), colour, tolerance=4)
    assert any(close(p, (255, 255, 255), tolerance=10) for p in image.crop((24, 34, 104, 94)).get_flattened_data())
    assert colour_of("Claude Monet") in PALETTE and colour_of("Claude Monet") == colour_of("Claude Monet")


def test_a_letter_the_font_lacks_is_left_out_not_drawn_as_a_box():
    # The PNG font has no CJK: the disc stays plain (the SVG has the browser draw the letters).
    plain = opened(initials_png("李 小龍"))
    assert not any(close(p, (255, 255, 255), tolerance=60) for p in plain.get_flattened_data() if p[3] == 255)
    assert ET.fromstring(initials_svg("李 小龍")).find(f"{SVG}text").text == "李小"


def test_anonymous():
    image = opened(anonymous_png())
    assert image.size == (128, 128) and image.getpixel((0, 0))[3] == 0
    assert image.getpixel((64, 50))[:3] != image.getpixel((64, 10))[:3]  # a head on the background
    root = ET.fromstring(anonymous_svg())
    assert root.tag == f"{SVG}svg" and not root.findall(f".//{SVG}script")
