"""Make thumbnails: decode once, then each size from the smallest one already made.

Every result is a baseline JPEG without metadata, encoded in memory, with its MD5,
ready for one sized PUT with ``Content-MD5``. Nothing is ever scaled up.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO

from PIL import Image

from cozy.thumbnails.decode import open_image
from cozy.thumbnails.errors import UnsupportedSource
from cozy.thumbnails.formats import FORMATS, IMAGE_MIMES, MIME, PDF_MIME, THUMBNAIL_FORMATS, Format
from cozy.thumbnails.limits import Deadline, Limits
from cozy.thumbnails.pdf import render_first_page

__all__ = ["MIME", "Thumbnail", "thumbnails_of"]
_RESAMPLE = Image.Resampling.LANCZOS
# Shrink by whole factors with a box filter first, then LANCZOS the rest: the result
# is indistinguishable from LANCZOS alone at a fraction of the cost.
_REDUCING_GAP = 2.0


@dataclass(frozen=True)
class Thumbnail:
    format: str
    data: bytes
    md5: str  # hex
    width: int
    height: int


def thumbnails_of(fp: IO[bytes], mime: str, names: Iterable[str] = THUMBNAIL_FORMATS, *, size: int | None = None,
                  limits: Limits | None = None) -> dict[str, Thumbnail]:  # fmt: skip
    """The asked formats of an image or a PDF's first page, by format name.

    ``size`` is the source's byte size, when known, checked before anything is read.
    Raises a ``ThumbnailError`` subclass for a source too large, a bomb, a corrupt or
    unsupported file, or one that takes longer than the time limit.
    """
    limits = limits or Limits()
    limits.check_bytes(size)
    formats = sorted((FORMATS[n] for n in names), key=lambda f: f.width * f.height, reverse=True)
    deadline = Deadline(limits.time_limit)
    if mime == PDF_MIME:
        base = render_first_page(fp, [f.box for f in formats], limits, deadline)
    elif mime in IMAGE_MIMES:
        base = open_image(fp, limits, deadline, need=_need(formats))
    else:
        raise UnsupportedSource(f"no thumbnails for {mime or 'files of unknown type'}")
    return make_all(base, formats, deadline)


def make_all(base: Image.Image, formats: list[Format], deadline: Deadline | None = None) -> dict[str, Thumbnail]:
    """Each format from the smallest image made so far that still covers it."""
    made: list[Image.Image] = [base]
    out: dict[str, Thumbnail] = {}
    for fmt in formats:
        image = _resize(base.size, made, fmt)
        made.append(image)
        out[fmt.name] = encode(image, fmt)
        if deadline:
            deadline.check()
    return out


def encode(image: Image.Image, fmt: Format) -> Thumbnail:
    buffer = io.BytesIO()
    # No exif=, icc_profile= or comment: the output carries no metadata.
    image.save(buffer, "JPEG", quality=fmt.quality, optimize=False, progressive=False)
    data = buffer.getvalue()
    return Thumbnail(fmt.name, data, hashlib.md5(data).hexdigest(), *image.size)  # noqa: S324 - integrity, as S3


def target_size(width: int, height: int, fmt: Format) -> tuple[int, int]:
    """The size of ``fmt`` for a source of this size, never larger than the source."""
    if fmt.crop:
        side = min(fmt.width, width, height)
        return side, side
    scale = min(fmt.width / width, fmt.height / height, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _need(formats: list[Format]) -> Callable[[int, int], tuple[int, int]]:
    """For an upright source size, the smallest decoded size that covers every format."""

    def need(width: int, height: int) -> tuple[int, int]:
        sizes = [target_size(width, height, f) for f in formats]
        return max(w for w, _ in sizes), max(h for _, h in sizes)

    return need


def _resize(base_size: tuple[int, int], made: list[Image.Image], fmt: Format) -> Image.Image:
    want = target_size(*base_size, fmt)

    # A crop needs its side on the short axis of the source it is cut from.
    def covers(im: Image.Image) -> bool:
        return min(im.size) >= want[0] if fmt.crop else im.width >= want[0] and im.height >= want[1]

    source = min(filter(covers, made), key=lambda im: im.width * im.height, default=made[0])
    if fmt.crop:
        side = min(source.size)
        left, top = (source.width - side) / 2, (source.height - side) / 2
        box = (left, top, left + side, top + side)
        return source.resize(want, _RESAMPLE, box=box, reducing_gap=_REDUCING_GAP)
    if source.size == want:
        return source
    return source.resize(want, _RESAMPLE, reducing_gap=_REDUCING_GAP)
