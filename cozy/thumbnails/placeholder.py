"""The small picture a missing thumbnail answers with (HTTP 404), so an ``<img>`` shows something."""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw

SIZE = 96


@lru_cache(maxsize=1)
def placeholder_png() -> bytes:
    """A light grey square with a darker landscape glyph (a sun and a hill)."""
    image = Image.new("RGB", (SIZE, SIZE), "#eceff1")
    draw = ImageDraw.Draw(image)
    draw.ellipse((58, 22, 74, 38), fill="#b0bec5")
    draw.polygon([(14, 78), (40, 44), (58, 66), (68, 56), (84, 78)], fill="#b0bec5")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
