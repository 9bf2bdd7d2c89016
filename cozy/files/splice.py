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
gunicorn cuts the connection and the client sees a short body, never a wrong one. A client
that stops reading has the store's GET let go of, and resumed (cozy.files.relay).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from cozy.files.relay import StoreCut, StoreRead, bound_unsent, client_ready, gevent_client, send_all

MIN_SIZE = 1024 * 1024
_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)
_FLAGS = getattr(os, "SPLICE_F_MOVE", 1) | getattr(os, "SPLICE_F_NONBLOCK", 2)

try:
    from gevent.socket import wait_read
except ImportError:  # pragma: no cover - gevent is a dependency of the real run
    wait_read = None


def client_socket(request: HttpRequest) -> Any | None:
    """gunicorn's socket to the client when a download may be spliced onto it, else None."""
    if not getattr(settings, "COZY_DOWNLOAD_SPLICE", True) or not hasattr(os, "splice"):
        return None
    return gevent_client(request)


class Spliced:
    """The response body: ``length`` bytes of ``read`` onto ``client``, in moves of ``pace()``
    bytes (small for a slow client: the pipe's pages are memory too). Closing it closes the
    store's GET, whether or not the body was sent (a HEAD)."""

    def __init__(self, read: StoreRead, client: Any, length: int, pace: Callable[[], int]):
        self._read, self._client, self._left, self._pace = read, client, length, pace

    def __iter__(self) -> Iterator[bytes]:
        bound_unsent(self._client)
        yield self._head()  # gunicorn sends the headers, then these bytes
        pipe = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            self._relay(pipe)
        finally:
            os.close(pipe[0])
            os.close(pipe[1])

    def close(self) -> None:
        self._read.close()

    def _head(self) -> bytes:
        """The bytes http.client read with the open GET's headers, counted as taken."""
        head = self._read.body().buffered()[: self._left]
        self._read.took(len(head))
        self._left -= len(head)
        return head

    def _relay(self, pipe: tuple[int, int]) -> None:
        capacity, dst = 0, self._client.fileno()
        to_client = client_ready(self._client, self._read)
        while self._left > 0:
            size = min(self._left, self._pace())
            if size > capacity:
                capacity = _grow(pipe[1], size)
            while size > 0:  # the pipe is empty here: fill it from the store, empty it to the client
                src = self._store(dst, to_client)
                count = min(size, capacity, self._left)
                if src is None or count == 0:
                    return
                moved = _splice(src[0], pipe[1], count, src[1])
                if moved == 0:
                    raise StoreCut("the store's answer ended before the file did")
                self._read.took(moved)
                size -= moved
                self._left -= moved
                while moved > 0:
                    moved -= _splice(pipe[0], dst, moved, to_client)

    def _store(self, dst: int, to_client: Callable[[], None]) -> tuple[int, Callable[[], object]] | None:
        """The socket of the open GET to splice from, and a wait for it. A GET reopened after a
        release first has the bytes http.client read with its headers sent; None when those
        were the last ones."""
        while not self._read.is_open:
            if self._read.body().fileno() is None:  # before buffered(): it reads the raw bytes, framing and all
                raise StoreCut("the store's resumed answer cannot be spliced")
            send_all(dst, memoryview(self._head()), to_client)  # may release it again: then reopen
            if self._left == 0:
                return None
        body = self._read.body()
        src = body.fileno()
        if src is None:  # cannot be: checked when it was opened
            raise StoreCut("the store's resumed answer cannot be spliced")
        return src, lambda: wait_read(src, timeout=body.timeout)


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
