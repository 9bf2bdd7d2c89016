"""Export settings: a Django setting, else the environment variable of the same name, else
the default; read at use time so that tests and workers can set them."""

from __future__ import annotations

import os
from datetime import timedelta

from django.conf import settings

GiB = 1024**3


def _int(name: str, default: int) -> int:
    value = getattr(settings, name, None)
    return int(value if value is not None else os.environ.get(name, default))


def part_size() -> int:
    """Bytes of file content a zip part holds before the next part begins."""
    return _int("COZY_EXPORT_PART_SIZE", 4 * GiB)


def upload_parts_in_flight() -> int:
    """Multipart parts of a zip part uploaded at once while the next one fills: each holds
    one upload part (5 MiB or more) in the worker's memory."""
    return max(1, _int("COZY_EXPORT_UPLOADS_IN_FLIGHT", 1))


def lifetime() -> timedelta:
    """How long an export (its token and its parts) lives."""
    return timedelta(seconds=_int("COZY_EXPORT_LIFETIME", 7 * 24 * 3600))


def stale_seconds() -> int:
    """A running export whose heartbeat is older than this is taken over by a new attempt."""
    return _int("COZY_EXPORT_STALE_SECONDS", 60)


def pause_seconds() -> float:
    """A pause after each content (0: none): slows an export down, for tests that catch one mid-way."""
    return _int("COZY_EXPORT_PAUSE_MS", 0) / 1000


def import_pause_seconds() -> float:
    """A pause after each content an import writes (0: none), for tests that catch one mid-way."""
    return _int("COZY_IMPORT_PAUSE_MS", 0) / 1000
