"""Limits on what the thumbnailer will decode: bytes, pixels and time.

Plain Python, so benchmarks and tests can use it without Django; ``from_settings``
reads the ``COZY_THUMBS_*`` settings when Django is configured.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import IO, Any

from cozy.thumbnails.errors import DecompressionBomb, RenderTimeout, SourceTooLarge

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
DEFAULT_TIME_LIMIT = 30.0


@dataclass(frozen=True)
class Limits:
    max_bytes: int = DEFAULT_MAX_BYTES
    # Pillow's own default (Image.MAX_IMAGE_PIXELS): above it Pillow warns, above twice it
    # refuses. A constant here: importing Pillow only for it would load it in every worker.
    max_pixels: int = 89_478_485
    time_limit: float = DEFAULT_TIME_LIMIT

    @classmethod
    def from_settings(cls) -> Limits:
        from django.conf import settings

        return cls(
            max_bytes=getattr(settings, "COZY_THUMBS_MAX_BYTES", DEFAULT_MAX_BYTES),
            max_pixels=getattr(settings, "COZY_THUMBS_MAX_PIXELS", cls.max_pixels),
            time_limit=getattr(settings, "COZY_THUMBS_TIME_LIMIT", DEFAULT_TIME_LIMIT),
        )

    def check_bytes(self, size: int | None) -> None:
        if size is not None and size > self.max_bytes:
            raise SourceTooLarge(f"source is {size} bytes, over the {self.max_bytes}-byte limit")

    def check_pixels(self, width: int, height: int) -> None:
        if width * height > self.max_pixels:
            raise DecompressionBomb(f"{width}x{height} pixels is over the {self.max_pixels}-pixel limit")


class Deadline:
    """A point in time after which work stops at its next check."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.at:
            raise RenderTimeout(f"took longer than {self.seconds:g} s")


class DeadlineReader:
    """Wraps a binary file and checks the deadline on every read.

    Pillow decodes in a Python loop over reads, so a slow decode stops at its next
    read; a single long C call (a PDF page render) is bounded by the task's hard limit.
    ``failure`` keeps what a read raised: PDFium turns it into "cannot load", which
    must not be taken for a corrupt file when it was the clock or the store.
    """

    def __init__(self, raw: IO[bytes], deadline: Deadline) -> None:
        self._raw = raw
        self._deadline = deadline
        self.failure: Exception | None = None

    def read(self, size: int = -1) -> bytes:
        try:
            self._deadline.check()
            return self._raw.read(size)
        except Exception as exc:
            self.failure = exc
            raise

    def readinto(self, buffer: Any) -> int:
        try:
            self._deadline.check()
            return self._raw.readinto(buffer)  # type: ignore[attr-defined]
        except Exception as exc:
            self.failure = exc
            raise

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True
