"""The thumbnail formats, as cozy-stack names them, and which files get them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    name: str
    width: int
    height: int
    crop: bool = False  # True: a centred square cut, then scaled; False: fit inside the box
    quality: int = 82  # cozy-stack's compromise; tiny gets more since every pixel shows

    @property
    def box(self) -> tuple[int, int, bool]:
        return self.width, self.height, self.crop


LARGE = Format("large", 1920, 1080)
MEDIUM = Format("medium", 1280, 720)
SMALL = Format("small", 640, 480)
TINY = Format("tiny", 96, 96, crop=True, quality=99)
# PDF compatibility routes: the preview is page 1 fit in a portrait box; the icon is tiny.
PREVIEW = Format("preview", 1080, 1920)

FORMATS = {f.name: f for f in (LARGE, MEDIUM, SMALL, TINY, PREVIEW)}
# What a new image or PDF gets, largest first: each size is made from the one before.
THUMBNAIL_FORMATS = ("large", "medium", "small", "tiny")

IMAGE_MIMES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif", "image/avif"}
)
PDF_MIME = "application/pdf"
MIME = "image/jpeg"  # of every thumbnail and preview


def has_thumbnails(mime: str) -> bool:
    """Whether a file of this type gets thumbnails (its document carries their links)."""
    return mime in IMAGE_MIMES or mime == PDF_MIME
