"""The web server of the real run: gunicorn's gevent worker, with timeouts on every client.

One greenlet per connection instead of one thread: a thousand slow phones, stalled
uploads or idle keep-alive connections cost a little memory each, not a thread of
a small pool that the other requests then wait for. The timeouts (docs/s3.md,
"Production settings"):

- ``COZY_HTTP_HEADER_TIMEOUT`` (20 s): a request's headers must arrive within it,
  and a keep-alive connection is closed after that long without a new request
  (gunicorn's keep-alive);
- ``COZY_HTTP_IDLE_TIMEOUT`` (60 s): any read from or write to a client that makes
  no progress for that long cuts the connection; an upload cut so stores nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

HEADER_TIMEOUT = 20
IDLE_TIMEOUT = 60
CONNECTIONS = 2000  # per worker process


def setting(name: str, default: int, env: Mapping[str, str] | None = None) -> int:
    value = (os.environ if env is None else env).get(name, "")
    return int(value) if value.isdigit() and int(value) > 0 else default


def web_command(bind: str, env: Mapping[str, str] | None = None) -> list[str]:
    """The gunicorn command of the real run, its settings read from ``env`` (default: this
    process's environment). Benchmarks and the HTTP tests start the same one."""
    return [
        sys.executable, "-m", "gunicorn", "cozy.wsgi:application", "--bind", bind,
        "--worker-class", "cozy.core.gevent_worker.CozyWorker",
        "--workers", str(setting("COZY_WEB_WORKERS", 2, env)),
        "--worker-connections", str(setting("COZY_WEB_CONNECTIONS", CONNECTIONS, env)),
        "--keep-alive", str(setting("COZY_HTTP_HEADER_TIMEOUT", HEADER_TIMEOUT, env)),
        "--limit-request-line", "8190", "--limit-request-fields", "100", "--limit-request-field_size", "8190",
        "--timeout", "120", "--graceful-timeout", "10", "--access-logfile", "-",
    ]  # fmt: skip
