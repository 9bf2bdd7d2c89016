"""Check an uploaded avatar by decoding it, then re-encode it small and clean.

Only PNG, JPEG, GIF and WebP are opened (Pillow's ``formats=``): HTML, SVG or
anything else is refused whatever its Content-Type said. Re-encoding drops every
byte that is not the picture (EXIF with GPS, comments, a polyglot's tail), applies
the EXIF orientation, and bounds what ``GET /public/avatar`` serves.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import IO

from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED = ("PNG", "JPEG", "GIF", "WEBP")
MAX_SIDE = 1024
MAX_PIXELS = 50_000_000  # far above any avatar: a bigger picture is a bomb
_OUTPUT = {"JPEG": ("JPEG", "image/jpeg"), "WEBP": ("WEBP", "image/webp")}  # the rest becomes PNG
_PNG = ("PNG", "image/png")


class AvatarRefused(Exception):
    status = 400


class UnsupportedAvatar(AvatarRefused):
    status = 415


class CorruptAvatar(AvatarRefused):
    status = 422


@dataclass(frozen=True)
class Avatar:
    data: bytes
    mime: str
    md5: str  # hex
    width: int
    height: int


def prepare_avatar(fp: IO[bytes], max_pixels: int = MAX_PIXELS) -> Avatar:
    """The avatar to store; ``UnsupportedAvatar`` or ``CorruptAvatar`` when refused."""
    image, fmt = _decode(fp, max_pixels)
    ImageOps.exif_transpose(image, in_place=True)
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    kind, mime = _OUTPUT.get(fmt, _PNG)
    if kind == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA")
    buffer = io.BytesIO()
    image.save(buffer, kind, quality=90)  # no exif=, icc_profile=: nothing but pixels
    data = buffer.getvalue()
    md5 = hashlib.md5(data).hexdigest()  # noqa: S324 - integrity and ETag, as S3
    return Avatar(data, mime, md5, *image.size)


def _decode(fp: IO[bytes], max_pixels: int) -> tuple[Image.Image, str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(fp, formats=list(ACCEPTED))
        if image.width * image.height > max_pixels:
            raise CorruptAvatar(f"the picture is {image.width}x{image.height}, over {max_pixels} pixels")
        fmt = image.format or ""
        image.seek(0)  # the first frame of an animation
        image.load()
    except UnidentifiedImageError:
        raise UnsupportedAvatar("an avatar must be a PNG, JPEG, GIF or WebP picture") from None
    except Image.DecompressionBombError as exc:
        raise CorruptAvatar(str(exc)) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptAvatar(f"the picture cannot be decoded ({exc})") from None
    return image, fmt
