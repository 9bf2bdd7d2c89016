"""Generated avatars for an instance without one: initials on a colour, or anonymous.

Both come as PNG (drawn with Pillow and its bundled font) and SVG (text drawn by the
browser, so any script shows). The colour is picked from the name, so one person
keeps one colour everywhere.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
from functools import lru_cache
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont

SIZE = 128
FONT_SIZE = 56
FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",)
_MISSING = "\U0010fffd"  # a private-use code point no font draws: it gives the "missing" box
_SUPERSAMPLE = 4  # shapes are drawn large and scaled down: Pillow's ellipses are not anti-aliased
# Saturated colours that keep white text readable (contrast >= 3:1).
PALETTE = ("#1b7fbd", "#c2185b", "#2e7d32", "#6a1b9a", "#d84315", "#00796b", "#5d4037", "#3949ab", "#ad1457")
ANONYMOUS_BACKGROUND = "#d6d8da"
ANONYMOUS_FIGURE = "#9ea3a8"


def initials(name: str) -> str:
    """Up to two capitals: the first letters of the first and last words ("?" for none)."""
    firsts = [next(c for c in w if c.isalnum()) for w in unicodedata.normalize("NFC", name).split() if _has_alnum(w)]
    if not firsts:
        return "?"
    return (firsts[0] + (firsts[-1] if len(firsts) > 1 else "")).upper()


def _has_alnum(word: str) -> bool:
    return any(c.isalnum() for c in word)


def colour_of(name: str) -> str:
    digest = hashlib.sha256(unicodedata.normalize("NFC", name).encode()).digest()
    return PALETTE[digest[0] % len(PALETTE)]


def initials_svg(name: str) -> bytes:
    text = escape(initials(name))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" viewBox="0 0 {SIZE} {SIZE}">'
        f'<circle cx="64" cy="64" r="64" fill="{colour_of(name)}"/>'
        '<text x="50%" y="50%" dy=".35em" text-anchor="middle" fill="#fff" '
        f'font-family="Lato, Helvetica, Arial, sans-serif" font-size="{FONT_SIZE}">{text}</text></svg>'
    ).encode()


def initials_png(name: str) -> bytes:
    return _initials_png(initials(name), colour_of(name))


@lru_cache(maxsize=256)
def _initials_png(text: str, colour: str) -> bytes:
    image = _disc(colour)
    font = _font()
    drawable = "".join(_glyph(letter, font) for letter in text)
    if drawable:
        ImageDraw.Draw(image).text((SIZE / 2, SIZE / 2), drawable, fill="#fff", font=font, anchor="mm")
    return _png(image)


@lru_cache(maxsize=1)
def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans where installed (Latin, Greek, Cyrillic), else Pillow's bundled Latin font."""
    for path in FONTS:
        try:
            return ImageFont.truetype(path, FONT_SIZE)
        except OSError:
            continue
    return ImageFont.load_default(size=FONT_SIZE)


def _glyph(letter: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> str:
    """The letter, its unaccented base, or nothing: never the font's empty box."""
    base = "".join(c for c in unicodedata.normalize("NFKD", letter) if not unicodedata.combining(c))
    for candidate in (letter, base):
        if candidate and _mask_bytes(candidate, font) != _mask_bytes(_MISSING, font):
            return candidate
    return ""


def _mask_bytes(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> bytes:
    mask = font.getmask(text)
    return bytes(mask) + repr(mask.size).encode()


def anonymous_svg() -> bytes:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" viewBox="0 0 {SIZE} {SIZE}">'
        '<clipPath id="c"><circle cx="64" cy="64" r="64"/></clipPath>'
        f'<g clip-path="url(#c)"><rect width="128" height="128" fill="{ANONYMOUS_BACKGROUND}"/>'
        f'<circle cx="64" cy="50" r="24" fill="{ANONYMOUS_FIGURE}"/>'
        f'<ellipse cx="64" cy="124" rx="44" ry="40" fill="{ANONYMOUS_FIGURE}"/></g></svg>'
    ).encode()


@lru_cache(maxsize=1)
def anonymous_png() -> bytes:
    k = _SUPERSAMPLE
    figure = Image.new("RGBA", (SIZE * k, SIZE * k), (0, 0, 0, 0))
    draw = ImageDraw.Draw(figure)
    draw.ellipse(_box(64, 50, 24, 24, k), fill=ANONYMOUS_FIGURE)
    draw.ellipse(_box(64, 124, 44, 40, k), fill=ANONYMOUS_FIGURE)
    big = _disc(ANONYMOUS_BACKGROUND, scaled=False)
    big.alpha_composite(Image.composite(figure, Image.new("RGBA", figure.size), _mask(scaled=False)))
    return _png(big.resize((SIZE, SIZE), Image.Resampling.LANCZOS))


def _box(cx: float, cy: float, rx: float, ry: float, k: int) -> tuple[float, float, float, float]:
    return ((cx - rx) * k, (cy - ry) * k, (cx + rx) * k, (cy + ry) * k)


def _mask(scaled: bool = True) -> Image.Image:
    k = _SUPERSAMPLE
    mask = Image.new("L", (SIZE * k, SIZE * k), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, SIZE * k - 1, SIZE * k - 1), fill=255)
    return mask.resize((SIZE, SIZE), Image.Resampling.LANCZOS) if scaled else mask


def _disc(colour: str, scaled: bool = True) -> Image.Image:
    """A filled circle on transparency, ``SIZE`` wide (or supersampled)."""
    mask = _mask(scaled)
    disc = Image.new("RGBA", mask.size, (0, 0, 0, 0))
    disc.paste(Image.new("RGBA", mask.size, colour), mask=mask)
    return disc


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
