"""Pictures made in the tests with Pillow: photos with EXIF, PDFs, bombs, broken files."""

from __future__ import annotations

import io

from PIL import Image

RED, GREEN, BLUE = (255, 0, 0), (0, 160, 0), (0, 0, 255)


def marked(width: int, height: int, corner: int) -> Image.Image:
    """Green, with a red square in the stored top-left corner and a blue one bottom-right."""
    image = Image.new("RGB", (width, height), GREEN)
    image.paste(RED, (0, 0, corner, corner))
    image.paste(BLUE, (width - corner, height - corner, width, height))
    return image


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def jpeg_with_orientation(width: int, height: int, orientation: int, corner: int = 600) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"  # Make: must not survive into a thumbnail
    return encoded(marked(width, height, corner), "JPEG", quality=90, exif=exif)


def pdf_page(width: int, height: int, corner: int = 60) -> bytes:
    """A one-page PDF of ``width`` x ``height`` points holding the marked picture."""
    return encoded(marked(width, height, corner), "PDF", resolution=72)


def close(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))
