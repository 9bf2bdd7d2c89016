"""Streamed downloads: HTTP Range mapped to ranged GETs, ETag and If-None-Match."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable

from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils.http import content_disposition_header

from cozy.files.errors import NotFound, RangeNotSatisfiable
from cozy.files.relay import Relayed, StoreRead, gevent_client
from cozy.files.splice import MIN_SIZE as SPLICE_MIN
from cozy.files.splice import Spliced, client_socket
from vfs_s3.storage import S3Storage

# What a download holds while the client takes it: a thousand slow readers hold a thousand
# of these, so it starts small...
SEND_CHUNK = 128 * 1024
# ...and grows to this once the client has taken FAST_AFTER bytes at FAST_RATE or more: more
# than the kernel's socket buffers can absorb, so a slow reader never gets there. A large chunk
# halves the switches and system calls of each byte relayed by the gevent worker.
BIG_CHUNK = 1024 * 1024
FAST_AFTER = 16 * 1024 * 1024
FAST_RATE = 32e6  # bytes/s
# ASCII digits only, at most 19 (int64): anything else is malformed, so ignored.
MISSING = "the content of this file is missing from the store (run fsck)"
_RANGE = re.compile(r"bytes=([0-9]{0,19})-([0-9]{0,19})")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end) inclusive, None for the whole body. Unsatisfiable -> 416.

    A malformed or multi-range header is ignored, as RFC 9110 allows.
    """
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if not match or (not match[1] and not match[2]):
        return None
    first, last = match[1], match[2]
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
        if last and int(last) < start:
            return None
    else:  # suffix range: the last N bytes
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable("the range selects no byte")
        start, end = max(0, size - suffix), size - 1
    if start >= size:
        raise RangeNotSatisfiable("the range starts past the end of the file")
    return start, end


def etag_of(md5_hex: str) -> str:
    return f'"{md5_hex}"'


def _matches(if_none_match: str, etag: str) -> bool:
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags


def stream_response(request: HttpRequest, *, store: S3Storage, name: str, size: int, md5: str, mime: str,
                    filename: str) -> HttpResponseBase:
    etag = etag_of(md5)
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and _matches(if_none_match, etag):
        not_modified = HttpResponse(status=304)
        not_modified["ETag"] = etag
        return not_modified
    range_header = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() != etag:
        range_header = None  # the client holds other bytes (or a date): send the whole, current file
    try:
        byte_range = parse_range(range_header, size)
    except RangeNotSatisfiable:
        refused = HttpResponse(status=416, content_type="application/vnd.api+json")
        refused["Content-Range"] = f"bytes */{size}"
        refused.content = b'{"errors":[{"status":"416","title":"Range Not Satisfiable",' \
                          b'"detail":"the range is outside the file"}]}'
        return refused
    start, end = byte_range or (0, size - 1)
    length = end - start + 1 if size else 0
    body = _body(request, store, name, start, end if byte_range else None, length) if size else iter(())
    response: HttpResponseBase = StreamingHttpResponse(body, status=206 if byte_range else 200, content_type=mime)
    response["Content-Length"] = str(length)
    if byte_range:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=request.GET.get("Dl", "1") != "0", filename=filename
    ) or ""
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response


def _body(request: HttpRequest, store: S3Storage, name: str, start: int, end: int | None,
          length: int) -> Iterable[bytes]:
    """The bytes to send; a missing object is a 404 now, not a broken 200."""
    if request.META.get("REQUEST_METHOD") == "HEAD":  # cozy.core.middleware: headers only, the store is not read
        if not store.exists(name):
            raise NotFound(MISSING)
        return iter(())
    read = StoreRead(store, name, start, end)
    try:
        body = read.body()  # now: a missing object is a 404 here, before the response starts
    except FileNotFoundError:
        raise NotFound(MISSING) from None
    if length >= SPLICE_MIN and not store.config.use_ssl and body.fileno() is not None:
        client = client_socket(request)
        if client is not None:
            return Spliced(read, client, length, Pace())
    return Relayed(read, gevent_client(request), length, Pace())


class Pace:
    """The size of the next read from the store, called before each one: the worker sent the
    previous chunk to the client in between, so the time between calls is the client's pace."""

    def __init__(self) -> None:
        self._restart(time.monotonic())

    def _restart(self, now: float) -> None:
        self.started = self.last = now
        self.sent = 0
        self.size = SEND_CHUNK

    def __call__(self) -> int:
        now = time.monotonic()
        if self.size == BIG_CHUNK and now - self.last > 4 * BIG_CHUNK / FAST_RATE:
            self._restart(now)  # the client slowed down: small chunks again, and a new window
        elif self.size == SEND_CHUNK and self.sent >= FAST_AFTER:
            if self.sent >= FAST_RATE * (now - self.started):
                self.size = BIG_CHUNK
        self.last = now
        self.sent += self.size
        return self.size

