"""Why a thumbnail could not be made: each error has a short reason code to record.

``permanent`` errors come from the source itself (too big, a bomb, corrupt, not an
image), so retrying the same content would fail again; a timeout may be load.
"""

from __future__ import annotations


class ThumbnailError(Exception):
    reason = "error"
    permanent = True


class SourceTooLarge(ThumbnailError):
    reason = "too_large"


class DecompressionBomb(ThumbnailError):
    reason = "bomb"


class CorruptSource(ThumbnailError):
    reason = "corrupt"


class UnsupportedSource(ThumbnailError):
    reason = "unsupported"


class RenderTimeout(ThumbnailError):
    reason = "timeout"
    permanent = False
