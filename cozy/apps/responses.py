"""Stream a stored file to a browser: brotli or identity, ETag/304, Range, in constant memory.

Stored brotli goes out as ``Content-Encoding: br`` to a client that accepts it;
any other client gets the original bytes (a plain object read as is, with
ranged GETs for ``Range``, or the brotli object decompressed on the fly), with
the original ``Content-Length``. ``Vary: Accept-Encoding`` always; the ETag is
the MD5 of the original bytes, with ``-br`` for the brotli representation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import brotli
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse

from cozy.apps.encoding import accepts_br
from cozy.files.download import parse_range
from cozy.files.errors import RangeNotSatisfiable
from vfs_s3.storage import S3Storage

IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Servable:
    store: S3Storage
    size: int  # original bytes
    md5: str  # hex, of the original bytes
    mime: str
    plain: str | None  # the object holding the original bytes, if any
    br: str | None = None  # the object holding them brotli'd, if any
    br_size: int = 0
    cache: str = "no-cache"


def plain_text(status: int, text: str) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


def etag_matches(header: str, etag: str) -> bool:
    sent = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in sent or etag in sent


def respond(request: HttpRequest, item: Servable) -> HttpResponseBase:
    as_br = item.br is not None and accepts_br(request.headers.get("Accept-Encoding"))
    etag = f'"{item.md5}-br"' if as_br else f'"{item.md5}"'
    inm = request.headers.get("If-None-Match")
    if inm and etag_matches(inm, etag):
        return _headers(HttpResponse(status=304), etag, item.cache)
    try:
        if as_br:
            return _headers(_brotli(item), etag, item.cache)
        return _headers(_identity(request, item, etag), etag, item.cache)
    except FileNotFoundError:
        return plain_text(404, "this file is missing from the store (run manage.py apps fsck)")


def _brotli(item: Servable) -> HttpResponseBase:
    assert item.br is not None
    response = StreamingHttpResponse(_primed(item.store.read(item.br)), content_type=item.mime)
    response["Content-Encoding"] = "br"
    response["Content-Length"] = str(item.br_size)
    return response


def _identity(request: HttpRequest, item: Servable, etag: str) -> HttpResponseBase:
    range_header = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() != etag:
        range_header = None
    try:
        byte_range = parse_range(range_header, item.size)
    except RangeNotSatisfiable:
        refused = plain_text(416, "the range is outside the file")
        refused["Content-Range"] = f"bytes */{item.size}"
        return refused
    start, end = byte_range or (0, item.size - 1)
    chunks: Iterator[bytes]
    if item.size == 0:
        chunks = iter(())
    elif item.plain is not None:
        chunks = _primed(item.store.read(item.plain, start, end if byte_range else None))
    else:
        assert item.br is not None
        chunks = _primed(_unpacked(item.store.read(item.br)))
        chunks = _slice(chunks, start, end) if byte_range else chunks
    response = StreamingHttpResponse(chunks, status=206 if byte_range else 200, content_type=item.mime)
    response["Content-Length"] = str(end - start + 1 if item.size else 0)
    if byte_range:
        response["Content-Range"] = f"bytes {start}-{end}/{item.size}"
    response["Accept-Ranges"] = "bytes"
    return response


def _headers(response: HttpResponseBase, etag: str, cache: str) -> HttpResponseBase:
    response["ETag"] = etag
    response["Vary"] = "Accept-Encoding"
    response["Cache-Control"] = cache
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _unpacked(chunks: Iterator[bytes]) -> Iterator[bytes]:
    unpacker = brotli.Decompressor()
    for chunk in chunks:
        if out := unpacker.process(chunk):
            yield out
    if not unpacker.is_finished():
        raise OSError("a stored file ended early")


def _slice(chunks: Iterator[bytes], start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start..end`` (inclusive) of a stream."""
    pos = 0
    for chunk in chunks:
        lo, hi = max(start - pos, 0), min(end + 1 - pos, len(chunk))
        pos += len(chunk)
        if lo < hi:
            yield chunk[lo:hi]
        if pos > end:
            return


def _primed(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Fetch the first chunk now: a missing object becomes a 404, not a broken 200."""
    first = next(chunks, b"")

    def rest() -> Iterator[bytes]:
        if first:
            yield first
        yield from chunks

    return rest()
