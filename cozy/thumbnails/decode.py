"""Decode a source image into an upright RGB picture, within the limits.

Only the formats below are tried (Pillow's ``formats=``), so a file that merely
looks like something else (a TGA, an EPS handed to Ghostscript) is never parsed.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from typing import IO, cast

import pillow_heif
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from cozy.thumbnails.errors import CorruptSource, DecompressionBomb, ThumbnailError, UnsupportedSource
from cozy.thumbnails.limits import Deadline, DeadlineReader, Limits

# HEIC/HEIF through libheif; AVIF, WebP, JPEG, PNG and GIF are Pillow's own.
pillow_heif.register_heif_opener()

IMAGE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "HEIF", "AVIF")
# EXIF orientations that swap width and height (90 and 270 degree turns).
_TURNED = {5, 6, 7, 8}
_SRGB = ImageCms.createProfile("sRGB")


def open_image(fp: IO[bytes], limits: Limits, deadline: Deadline, formats: tuple[str, ...] = IMAGE_FORMATS,
               need: Callable[[int, int], tuple[int, int]] | None = None) -> Image.Image:  # fmt: skip
    """The first frame, EXIF-oriented, in RGB (sRGB when it had a colour profile).

    ``need(width, height)`` gives, for the upright source size, the smallest size the
    caller can work from: a JPEG is then decoded at the smallest libjpeg scale (1/2,
    1/4, 1/8) that still covers it, which is most of the speed on camera photos.
    """
    im = _open(cast(IO[bytes], DeadlineReader(fp, deadline)), limits, formats)  # file-like enough for Pillow
    if need and im.format == "JPEG":
        turned = _orientation(im) in _TURNED
        upright = (im.height, im.width) if turned else im.size
        w, h = need(*upright)
        im.draft("RGB", (h, w) if turned else (w, h))
    try:
        im.load()
    except ThumbnailError:
        raise  # the deadline, checked by the reader
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptSource(f"{im.format} data is corrupt or truncated ({exc})") from None
    deadline.check()
    _upright(im)
    return to_srgb(im)


def _open(fp: IO[bytes], limits: Limits, formats: tuple[str, ...]) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Our own pixel check below gives the clear error; Pillow's warning is noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(fp, formats=list(formats))
    except Image.DecompressionBombError as exc:
        raise DecompressionBomb(f"over the pixel limit: {exc}") from None
    except UnidentifiedImageError:
        raise UnsupportedSource(f"not an image of a supported format ({', '.join(formats)})") from None
    except ThumbnailError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptSource(f"image header is corrupt ({exc})") from None
    limits.check_pixels(*im.size)
    return im


def _orientation(im: Image.Image) -> int:
    try:
        return int(im.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - an unreadable EXIF block only costs the draft hint
        return 1


def _upright(im: Image.Image) -> None:
    try:
        ImageOps.exif_transpose(im, in_place=True)
    except Exception:  # noqa: BLE001 - a malformed EXIF block: keep the stored orientation
        return


def to_srgb(im: Image.Image) -> Image.Image:
    """RGB, converted from an embedded colour profile to sRGB, alpha flattened on white."""
    icc = im.info.pop("icc_profile", None)
    if icc and im.mode in ("RGB", "RGBA", "CMYK", "L"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            mode = "RGBA" if im.mode == "RGBA" else "RGB"
            im = ImageCms.profileToProfile(im, source, _SRGB, outputMode=mode) or im
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken or mismatched profile: keep the pixels as they are
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return im if im.mode == "RGB" else im.convert("RGB")
