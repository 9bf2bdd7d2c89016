"""Render a PDF's first page with PDFium (pypdfium2), no ImageMagick or Ghostscript.

PDFium is not thread-safe: call this from one thread per process (Celery's prefork
workers do).
"""

from __future__ import annotations

from typing import IO

import pypdfium2 as pdfium
from PIL import Image

from cozy.thumbnails.errors import CorruptSource
from cozy.thumbnails.limits import Deadline, DeadlineReader, Limits

# The page is drawn for the largest box asked for, at most at 300 dpi (cozy-stack's density).
MAX_SCALE = 300 / 72


def render_first_page(fp: IO[bytes], boxes: list[tuple[int, int, bool]], limits: Limits,
                      deadline: Deadline) -> Image.Image:  # fmt: skip
    """Page 1 as RGB on white, big enough for every ``(width, height, crop)`` box."""
    reader = DeadlineReader(fp, deadline)
    try:
        doc = pdfium.PdfDocument(reader)
    except pdfium.PdfiumError as exc:
        if reader.failure is not None:  # the time limit or the store, not the file
            raise reader.failure from None
        raise CorruptSource(f"not a readable PDF ({exc})") from None
    try:
        if len(doc) < 1:
            raise CorruptSource("the PDF has no page")
        page = doc[0]
        try:
            width, height = page.get_size()
            scale = _scale(width, height, boxes, limits)
            deadline.check()
            image = page.render(scale=scale, may_draw_forms=True).to_pil().convert("RGB")
        finally:
            page.close()
    except pdfium.PdfiumError as exc:
        if reader.failure is not None:
            raise reader.failure from None
        raise CorruptSource(f"the PDF's first page cannot be drawn ({exc})") from None
    finally:
        doc.close()
    deadline.check()
    return image


def _scale(width: float, height: float, boxes: list[tuple[int, int, bool]], limits: Limits) -> float:
    if width <= 0 or height <= 0:
        raise CorruptSource("the PDF's first page has no area")
    wanted = max(max(bw / width, bh / height) if crop else min(bw / width, bh / height) for bw, bh, crop in boxes)
    # A page of absurd proportions must not make a bitmap past the pixel limit.
    cap = (limits.max_pixels / (width * height)) ** 0.5
    return min(wanted, MAX_SCALE, cap)
