"""Failure counters that slow down, then refuse, guessing (passwords, bearer tokens).

Counts live in Django's cache alias ``throttle`` (a database table by default,
so every gunicorn worker and every host behind one database sees the same
counts). Each key is a scope (an account, a client address) hashed, so that
the cache never holds the guessed text. Policies are in settings.COZY_THROTTLE.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest


@dataclass(frozen=True)
class Policy:
    free: int  # failures answered at once
    limit: int  # failures after which every attempt gets 429 until the window has passed
    window: int  # seconds a failure is remembered (each new failure restarts it)
    max_delay: float  # seconds a failed answer waits, at most, between free and limit


def policy(kind: str) -> Policy:
    return Policy(**settings.COZY_THROTTLE[kind])  # type: ignore[arg-type]  # numbers from settings


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR, or the header a trusted reverse proxy sets (COZY_CLIENT_IP_HEADER)."""
    header = getattr(settings, "COZY_CLIENT_IP_HEADER", "")
    value = request.META.get(header, "") if header else ""
    return value.split(",")[0].strip() or request.META.get("REMOTE_ADDR", "") or "unknown"


def key(kind: str, scope: str, value: str) -> str:
    digest = hashlib.sha256(value.casefold().encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return f"throttle:{kind}:{scope}:{digest}"


def _cache():
    return caches["throttle"]


def retry_after(kind: str, keys: list[str]) -> int:
    """Seconds before an attempt is heard again; 0 when it may go ahead."""
    limit = policy(kind).limit
    now = time.time()
    waits = [entry["until"] - now for entry in _cache().get_many(keys).values() if entry["n"] >= limit]
    return max(1, int(max(waits)) + 1) if waits and max(waits) > 0 else 0


def record_failure(kind: str, keys: list[str]) -> int:
    """Count one failure under every key; the highest count.

    get-then-set, not atomic: two guesses at the same instant may count once,
    which at worst lets a handful more through before the limit.
    """
    pol, cache = policy(kind), _cache()
    until = time.time() + pol.window
    entries = cache.get_many(keys)
    counts = {k: entries.get(k, {"n": 0})["n"] + 1 for k in keys}
    cache.set_many({k: {"n": n, "until": until} for k, n in counts.items()}, timeout=pol.window)
    return max(counts.values())


def delay(kind: str, failures: int) -> float:
    """How long a failed answer waits: nothing while free, then doubling up to max_delay."""
    pol = policy(kind)
    if failures <= pol.free:
        return 0.0
    return min(pol.max_delay, 0.25 * 2 ** (failures - pol.free - 1))


def reset(keys: list[str]) -> None:
    _cache().delete_many(keys)
