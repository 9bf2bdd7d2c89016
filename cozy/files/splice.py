"""Large downloads moved from the store's socket to the client's by splice(2), through a pipe.

Relaying a download in Python costs the worker a receive and a send of every byte. With
splice the bytes stay in the kernel (the pipe holds references to the pages the store's
socket received): a quarter to a third less worker CPU per byte in the benchmarks
(docs/benchmarks.md, "Files API"), with no clear change of the download's rate there.

It applies under gunicorn's gevent worker, on plain sockets at both ends (cozy behind a
TLS proxy, the store over plain HTTP), for bodies of ``MIN_SIZE`` or more; anything else
takes the plain path of cozy.files.download.

gunicorn sends the status and headers with the first bytes of the body (those http.client
already read from the store), then the rest goes around it onto its socket: gunicorn's own
count of bytes sent (its access log's size) only has that first part. Each move waits, as
gunicorn's writes do, at most the client socket's timeout (``COZY_HTTP_IDLE_TIMEOUT``) for
the client, and the store's read timeout for the store; a store that ends early raises, so
gunicorn cuts the connection and the client sees a short body, never a wrong one.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from vfs_s3.reader import OpenBody

MIN_SIZE = 1024 * 1024
_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)
_FLAGS = getattr(os, "SPLICE_F_MOVE", 1) | getattr(os, "SPLICE_F_NONBLOCK", 2)

try:
    from gevent.socket import socket as GeventSocket
    from gevent.socket import wait_read, wait_write
except ImportError:  # pragma: no cover - gevent is a dependency of the real run
    GeventSocket = wait_read = wait_write = None


class StoreCut(OSError):
    """The store's answer ended before the body did."""


def client_socket(request: HttpRequest) -> Any | None:
    """gunicorn's socket to the client when a download may be spliced onto it, else None."""
    sock = request.META.get("gunicorn.socket")
    if not getattr(settings, "COZY_DOWNLOAD_SPLICE", True):
        return None
    if GeventSocket is None or not hasattr(os, "splice") or type(sock) is not GeventSocket:
        return None  # another server or worker, TLS (gevent's SSLSocket is a subclass), or not Linux
    return sock


class Spliced:
    """The response body: ``length`` bytes of ``body`` onto ``client``, in moves of ``pace()``
    bytes (small for a slow client: the pipe's pages are memory too). Closing it closes the
    store's GET, whether or not the body was sent (a HEAD)."""

    def __init__(self, body: OpenBody, fileno: int, client: Any, length: int, pace: Callable[[], int]):
        self._body, self._src, self._client, self._length, self._pace = body, fileno, client, length, pace

    def __iter__(self) -> Iterator[bytes]:
        head = self._body.buffered()[: self._length]
        yield head  # gunicorn sends the headers, then these bytes
        pipe = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            self._relay(pipe, self._length - len(head))
        finally:
            os.close(pipe[0])
            os.close(pipe[1])

    def close(self) -> None:
        self._body.close()

    def _relay(self, pipe: tuple[int, int], left: int) -> None:
        capacity, dst = 0, self._client.fileno()
        store_ready = lambda: wait_read(self._src, timeout=self._body.timeout)  # noqa: E731
        client_ready = lambda: wait_write(dst, timeout=self._client.gettimeout())  # noqa: E731
        while left > 0:
            size = min(left, self._pace())
            if size > capacity:
                capacity = _grow(pipe[1], size)
            while size > 0:  # the pipe is empty here: fill it from the store, empty it to the client
                moved = _splice(self._src, pipe[1], min(size, capacity), store_ready)
                if moved == 0:
                    raise StoreCut("the store's answer ended before the file did")
                size -= moved
                left -= moved
                while moved > 0:
                    moved -= _splice(pipe[0], dst, moved, client_ready)


def _grow(pipe_in: int, size: int) -> int:
    """The pipe's capacity, raised toward ``size`` where the system allows (it may refuse past
    the user's pipe quota: then the moves are just smaller)."""
    try:
        return fcntl.fcntl(pipe_in, _SETPIPE_SZ, size)
    except OSError:
        return fcntl.fcntl(pipe_in, _GETPIPE_SZ)


def _splice(src: int, dst: int, count: int, ready: Callable[[], object]) -> int:
    """One splice of up to ``count`` bytes; ``ready()`` waits (for a greenlet: cooperatively)
    until the socket end can move, and raises past its timeout."""
    while True:
        try:
            return os.splice(src, dst, count, flags=_FLAGS)
        except BlockingIOError:
            ready()
