"""Tuning knobs of the deletion job: Django settings first, then the environment.

The environment matters for worker processes started with a tuned env (tests,
operators trying a smaller page on a slow store) without a settings change.
"""

from __future__ import annotations

import os

from django.conf import settings

from s3util.batch import MAX_KEYS_PER_REQUEST


def _value(name: str, default: float) -> float:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name) or default
    return float(value)


def _int(name: str, default: int, low: int, high: int) -> int:
    return max(low, min(high, int(_value(name, default))))


def _float(name: str, default: float, low: float, high: float) -> float:
    return max(low, min(high, _value(name, default)))


def page_size() -> int:
    """Keys listed then deleted per step; one DeleteObjects request each (<= 1000)."""
    return _int("COZY_DELETION_PAGE_SIZE", MAX_KEYS_PER_REQUEST, 1, MAX_KEYS_PER_REQUEST)


def parallel_requests() -> int:
    """DeleteObjects requests in flight while the next page is being listed."""
    return _int("COZY_DELETION_PARALLEL", 4, 1, 32)


def pause_seconds() -> float:
    """A pause after each page, to spare a store shared with live traffic (0: none)."""
    return _float("COZY_DELETION_PAUSE_MS", 0, 0, 60_000) / 1000


def lease_seconds() -> int:
    """How long a runner owns a job without news from it; renewed after every page."""
    return _int("COZY_DELETION_LEASE_SECONDS", 60, 5, 3600)


def retry_delay(retries: int) -> float:
    """Seconds before retry number ``retries + 1``: doubled each time from the base, capped."""
    base = _float("COZY_DELETION_RETRY_BACKOFF", 2, 0.1, 3600)
    cap = _float("COZY_DELETION_RETRY_BACKOFF_MAX", 300, base, 86_400)
    return min(cap, base * 2 ** min(retries, 32))


def max_retries() -> int:
    """Retries of a failing job before it is marked failed (60 at the default backoff: several hours)."""
    return _int("COZY_DELETION_MAX_RETRIES", 60, 0, 10_000)
