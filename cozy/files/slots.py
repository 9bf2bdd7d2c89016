"""Caps on concurrent uploads in one web process: past them, a 503 with Retry-After at once.

A client that holds an upload open (a slow phone, a stalled script) takes a slot
until it finishes or the idle timeout cuts it. Without a cap, enough of them
would hold memory and store connections without end; with it, the next upload
is refused before its body is read, and never waits. Settings (docs/s3.md,
"Production settings"): ``COZY_MAX_UPLOADS`` (per web worker process, default
64) and ``COZY_MAX_UPLOADS_PER_INSTANCE`` (default 16), so that one instance
cannot take every slot.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Iterator

from django.conf import settings

from cozy.files.errors import Unavailable
from cozy.instances.models import Instance

RETRY_AFTER = 5  # seconds

_lock = threading.Lock()  # a gevent lock in the web server, which patches threading
_open: Counter[str] = Counter()  # db_prefix -> uploads in flight; "" -> all of them


@contextlib.contextmanager
def upload_slot(instance: Instance) -> Iterator[None]:
    key = instance.db_prefix
    with _lock:
        if _open[""] >= settings.COZY_MAX_UPLOADS:
            raise Unavailable("too many uploads at once on this server, try again shortly", retry_after=RETRY_AFTER)
        if _open[key] >= settings.COZY_MAX_UPLOADS_PER_INSTANCE:
            raise Unavailable("too many uploads at once for this cozy, try again shortly", retry_after=RETRY_AFTER)
        _open[""] += 1
        _open[key] += 1
    try:
        yield
    finally:
        with _lock:
            _open[""] -= 1
            _open[key] -= 1
            if not _open[key]:
                del _open[key]
