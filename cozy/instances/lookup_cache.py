"""What every API request looks up, remembered for a few seconds in each process.

A 1 KiB upload used to spend three of its ten statements, and their ORM work, on
the same answers each time: the instance its Host names, its bearer token, and
whether its address is refused for guessing tokens (docs/benchmarks.md, "Files
API"). Each answer is kept for ``COZY_LOOKUP_CACHE_TTL`` seconds (default 5; 0
turns the cache off), so a change made by another process (a token revoked by
``manage.py instances revoke``, an instance deleted by the Celery worker, an
address refused by the other web worker) takes effect within that bound. A
change saved through the ORM in this process (an instance turned ``deleting`` or
deleted, a token saved or deleted) empties the cache at once. Only good answers
are kept: an unknown token or host is looked up every time.
"""

from __future__ import annotations

import time
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db.models.signals import post_delete, post_save

K = TypeVar("K")
V = TypeVar("V")

DEFAULT_TTL = 5.0
MAX_ENTRIES = 4096  # past it the cache starts again empty: no unbounded growth from many hosts or tokens


def ttl() -> float:
    return float(getattr(settings, "COZY_LOOKUP_CACHE_TTL", DEFAULT_TTL))


class TtlCache(Generic[K, V]):
    """A dict whose entries expire ``ttl()`` seconds after they were put."""

    def __init__(self) -> None:
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, key: K, value: V) -> None:
        lifetime = ttl()
        if lifetime <= 0:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + lifetime, value)

    def discard(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self, *args: Any, **kwargs: Any) -> None:  # also a signal receiver
        self._entries.clear()


instances: TtlCache[str, tuple[str, tuple[Any, ...]]] = TtlCache()  # Host -> (db alias, an instance's row)
tokens: TtlCache[str, int] = TtlCache()  # token hash -> its instance's id
unrefused: TtlCache[str, bool] = TtlCache()  # throttle key of an address that was not refused


def connect() -> None:
    from cozy.instances.models import Instance, Token

    for name, signal in (("save", post_save), ("delete", post_delete)):
        signal.connect(instances.clear, sender=Instance, dispatch_uid=f"cozy.lookup_cache.instances.{name}")
        signal.connect(tokens.clear, sender=Token, dispatch_uid=f"cozy.lookup_cache.tokens.{name}")
