"""Export settings, read at use time so that tests and workers can set them."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

GiB = 1024**3


def part_size() -> int:
    """Bytes of file content a zip part holds before the next part begins."""
    return int(getattr(settings, "COZY_EXPORT_PART_SIZE", 4 * GiB))


def lifetime() -> timedelta:
    """How long an export (its token and its parts) lives."""
    return timedelta(seconds=int(getattr(settings, "COZY_EXPORT_LIFETIME", 7 * 24 * 3600)))


def stale_seconds() -> int:
    """A running export whose heartbeat is older than this is taken over by a new attempt."""
    return int(getattr(settings, "COZY_EXPORT_STALE_SECONDS", 60))
