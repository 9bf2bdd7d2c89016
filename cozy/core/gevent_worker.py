"""gunicorn's gevent worker with cozy's idle timeout on every client socket (see cozy.core.web).

Imported only by gunicorn, in the web server's processes: it brings gevent in.
"""

from __future__ import annotations

import os
import resource

from gunicorn.workers.base_async import AsyncWorker
from gunicorn.workers.ggevent import GeventWorker

from cozy.core.web import IDLE_TIMEOUT, setting


class CozyWorker(GeventWorker):
    def init_process(self) -> None:
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # a socket per client, and one to S3
        os.environ.setdefault("COZY_DB_POOL", "1")  # read by cozy.settings, loaded with the app below
        super().init_process()

    def handle(self, listener, client, addr) -> None:
        # GeventWorker.handle would make the socket blocking (no timeout): set ours instead.
        client.settimeout(setting("COZY_HTTP_IDLE_TIMEOUT", IDLE_TIMEOUT))
        AsyncWorker.handle(self, listener, client, addr)
