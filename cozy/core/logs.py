"""Log filters: what a client sends in a rejected request stays out of the logs."""

from __future__ import annotations

import logging


class OneLineDisallowedHost(logging.Filter):
    """Django logs a bad Host with a traceback and the Host text itself: one fixed line is enough.

    The Host is the attacker's text (log injection, noise); the client address is ours.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        client = request.META.get("REMOTE_ADDR", "?") if request is not None else "?"
        record.msg, record.args = "rejected a request with a Host header not in ALLOWED_HOSTS (client %s)", (client,)
        record.exc_info = record.exc_text = None
        record.stack_info = None
        return True
