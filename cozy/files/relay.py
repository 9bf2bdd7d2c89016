"""A download's reads from the store, let go of while its client does not read.

Each download in progress holds one GET open on the store. A client that stops reading
(a phone on a bad link, a paused transfer) would keep it open for as long as the idle
timeout allows: a thousand paused clients, a thousand GETs held on the store with their
connections and buffers (SeaweedFS on the same machine queued up to 4 MiB in each of its
sockets: docs/benchmarks.md, "Slow clients"). So once the client's socket has
stayed unwritable for ``COZY_DOWNLOAD_RELEASE_AFTER`` seconds, the GET is closed; when
the client reads again, a ranged GET resumes at the byte the download had reached.
Content keys are written once (a new content goes to a fresh key, DESIGN.md), and every
resumed GET is pinned to the ETag of the first one all the same: a changed object raises
ObjectChanged, which cuts the client's connection short rather than mix two versions.

``Relayed`` is the download path that writes to the client socket itself (under
gunicorn's gevent worker) when splice does not apply; cozy.files.splice is the other.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings

from vfs_s3.reader import OpenBody
from vfs_s3.storage import S3Storage

try:
    from gevent.socket import socket as GeventSocket
    from gevent.socket import wait_write
except ImportError:  # pragma: no cover - gevent is a dependency of the real run
    GeventSocket = wait_write = None

log = logging.getLogger(__name__)

RELEASE_AFTER = 2.0  # seconds; the default of COZY_DOWNLOAD_RELEASE_AFTER
# The bytes a download's client socket may hold unsent in the kernel. Left alone, Linux grows a
# socket's send buffer toward 4 MiB (tcp_wmem) for a client that read fast once, and keeps it
# full once that client stops: a thousand such downloads held 1.8 GiB of kernel memory, past
# the tcp_mem pressure mark, where the kernel shrinks every TCP buffer of the machine and every
# other transfer crawls (docs/benchmarks.md, "Slow clients"). Bytes in flight are not counted,
# so a fast client on a long path is not slowed; the worker is just woken more often.
UNSENT_MAX = 256 * 1024


class StoreCut(OSError):
    """The store's answer ended before the body did."""


class ClientStalled(ConnectionResetError):
    """The client took no byte for the idle timeout. A reset for gunicorn, which then closes the
    connection quietly instead of logging a traceback for each phone that walked away."""

    def __init__(self, waited: float | None):
        super().__init__(errno.ECONNRESET, f"the client read nothing for {waited} s")


def gevent_client(request: Any) -> Any | None:
    """gunicorn's gevent socket to the client, or None (another server or worker, or TLS:
    gevent's SSLSocket is a subclass)."""
    sock = request.META.get("gunicorn.socket")
    return sock if GeventSocket is not None and type(sock) is GeventSocket else None


class StoreRead:
    """The bytes ``pos..end`` (inclusive; None: to the end) of one object, as a GET opened
    on demand by ``body()`` and closed by ``release()``; ``took(n)`` moves ``pos`` past what
    the caller has taken from the body."""

    def __init__(self, store: S3Storage, name: str, start: int, end: int | None):
        self._store, self._name, self.pos, self._end = store, name, start, end
        self._etag: str | None = None
        self._body: OpenBody | None = None
        self.opened = 0  # GETs opened, for tests

    def body(self) -> OpenBody:
        if self._body is None:
            self._body = self._store.open_body(self._name, self.pos, self._end, etag=self._etag)
            self._etag = self._etag or self._body.etag
            self.opened += 1
        return self._body

    @property
    def is_open(self) -> bool:
        return self._body is not None

    def took(self, count: int) -> None:
        self.pos += count

    def release(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    close = release


def client_ready(client: Any, read: StoreRead) -> Callable[[], None]:
    """A wait for ``client``'s socket to take more bytes: past the release delay the store's
    GET is closed, past the client's timeout (COZY_HTTP_IDLE_TIMEOUT) TimeoutError."""
    fd, limit = client.fileno(), client.gettimeout()
    release_after = float(getattr(settings, "COZY_DOWNLOAD_RELEASE_AFTER", RELEASE_AFTER))

    def wait() -> None:
        if release_after <= 0 or (limit is not None and release_after >= limit):
            _wait_or_cut(fd, limit, limit)
            return
        try:
            wait_write(fd, timeout=release_after)
            return
        except TimeoutError:
            read.release()
        _wait_or_cut(fd, None if limit is None else limit - release_after, limit)

    return wait


def _wait_or_cut(fd: int, timeout: float | None, limit: float | None) -> None:
    try:
        wait_write(fd, timeout=timeout)
    except TimeoutError:
        log.info("download cut: the client read nothing for %s s (COZY_HTTP_IDLE_TIMEOUT)", limit)
        raise ClientStalled(limit) from None


def bound_unsent(client: Any) -> None:
    """Cap what ``client``'s socket holds unsent (TCP_NOTSENT_LOWAT: writes wait past it)."""
    option = getattr(socket, "TCP_NOTSENT_LOWAT", None)
    if option is not None:
        client.setsockopt(socket.IPPROTO_TCP, option, UNSENT_MAX)


def send_all(fd: int, data: memoryview, ready: Callable[[], None]) -> None:
    """Write all of ``data`` to the non-blocking socket ``fd``, ``ready()`` waiting in between."""
    while data:
        try:
            data = data[os.write(fd, data):]
        except BlockingIOError:
            ready()


class Relayed:
    """The response body: ``length`` bytes of ``read`` relayed by the worker in chunks of
    ``pace()`` bytes. The first chunk goes through gunicorn (with the headers), the rest
    straight onto ``client``'s socket, so that a stalled write can let go of the store's GET;
    with no such socket (another server), every chunk goes through the server."""

    def __init__(self, read: StoreRead, client: Any, length: int, pace: Callable[[], int]):
        self._read, self._client, self._left, self._pace = read, client, length, pace

    def _chunk(self) -> bytes:
        data = self._read.body().read(min(self._left, self._pace()))
        if not data:
            raise StoreCut("the store's answer ended before the file did")
        self._read.took(len(data))
        self._left -= len(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        if self._client is None:
            while self._left > 0:
                yield self._chunk()
            return
        bound_unsent(self._client)
        yield self._chunk()
        fd, ready = self._client.fileno(), client_ready(self._client, self._read)
        while self._left > 0:
            send_all(fd, memoryview(self._chunk()), ready)

    def close(self) -> None:
        self._read.close()
