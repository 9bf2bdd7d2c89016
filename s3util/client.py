"""Build a ``minio.Minio`` client from an :class:`S3Config`."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

import urllib3
from minio import Minio
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from s3util.config import S3Config

# Enough connections for parallel part uploads from several threads at once.
_POOL_SIZE = 32
# How long the store may stall while a request body goes out (a paused or busy server): a
# streamed PUT cannot be sent again once bytes went out, so it must ride out such a pause.
STALL_TIMEOUT = 60


def stall_timeout() -> float:
    value = os.environ.get("COZY_S3_STALL_TIMEOUT", "")
    return float(value) if value.replace(".", "", 1).isdigit() and float(value) > 0 else STALL_TIMEOUT


def _connect_then_stall_timeout(conn: HTTPConnection) -> None:
    """Connect within the connect timeout, then send within the stall timeout.

    urllib3 sends a request body under the connect timeout (10 s here): a store that
    paused for longer cut every streamed PUT, though it would have gone on. The
    response is then read under the read timeout, as before.
    """
    if conn.sock is None:
        conn.connect()
    conn.timeout = stall_timeout()


class _HTTPConnection(HTTPConnection):
    def request(self, *args, **kwargs):  # urllib3's signature
        _connect_then_stall_timeout(self)
        return super().request(*args, **kwargs)


class _HTTPSConnection(HTTPSConnection):
    def request(self, *args, **kwargs):  # urllib3's signature
        _connect_then_stall_timeout(self)
        return super().request(*args, **kwargs)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


def make_http_client(*, connect_timeout: float = 10, read_timeout: float = 300) -> urllib3.PoolManager:
    manager = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        maxsize=_POOL_SIZE,
        retries=urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )
    manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
    return manager


class StreamedBody:
    """A request body of known length, read from ``chunks`` as it is sent.

    urllib3 may iterate it again to retry. That works while no chunk has been
    taken (the connection failed before the body was sent); after that, the
    bytes sent are gone, so iterating again raises (an OSError, which urllib3
    counts as a failed attempt) instead of letting the store wait for bytes
    that never come.
    """

    def __init__(self, chunks: Iterable[bytes], length: int):
        self._chunks = iter(chunks)
        self._started = False
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        if self._started:
            raise BodyAlreadySent("a streamed request body cannot be sent twice")
        return self._send()

    def _send(self) -> Iterator[bytes]:
        self._started = True  # runs at the first next(): when a byte is about to go
        yield from self._chunks


class BodyAlreadySent(OSError):
    pass


class CozyMinio(Minio):
    """The minio client, with request bodies signed as UNSIGNED-PAYLOAD where that is safe.

    The SDK hashes every body with SHA-256 for the signature over plain HTTP
    (over HTTPS it sends UNSIGNED-PAYLOAD, TLS protecting the body). cozy skips
    that hash, about a fifth of its CPU on a large upload, in two cases: on
    loopback (``unsigned_payload``), where no wire can change the bytes, and
    for a ``StreamedBody``, which cannot be hashed before it is sent and always
    carries Content-MD5, which the store checks. Overrides the SDK's private
    ``_build_headers``: minio is pinned.
    """

    unsigned_payload = False

    def _build_headers(self, host, headers=None, body=None, creds=None):  # the SDK's signature
        unsigned = self.unsigned_payload or isinstance(body, StreamedBody)
        if not (body and creds and unsigned):
            return super()._build_headers(host, headers, body, creds)
        headers, date = super()._build_headers(host, headers, None, creds)
        headers["Content-Length"] = str(len(body))
        headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
        return headers, date


def make_client(config: S3Config, *, http_client: urllib3.PoolManager | None = None) -> Minio:
    client = CozyMinio(
        config.endpoint,
        access_key=config.access_key,
        secret_key=config.secret_key,
        secure=config.use_ssl,
        region=config.region,
        http_client=http_client or make_http_client(),
    )
    client.unsigned_payload = config.plain_loopback
    if config.path_style:
        client.disable_virtual_style_endpoint()
    else:
        client.enable_virtual_style_endpoint()
    return client
