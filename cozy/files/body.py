"""An upload's request body: its length, expected MD5, type, and how to read it.

gunicorn's ``wsgi.input`` copies each body byte four or five times in Python
(BytesIO buffers and slices), about a quarter of a worker's CPU during a large
upload. So under gunicorn, a body of known length is read from the socket
directly: first the bytes gunicorn already holds (they came with the headers),
then ``recv``. gunicorn's own count of the bytes left is kept up to date, so it
still drains the rest of a body cozy stops reading (a 412 or a 413), and keeps
or closes the connection as before. Other servers, chunked bodies, and a body
someone already started reading, use the plain WSGI stream. This relies on
gunicorn's internals (``Body``, ``LengthReader``, ``SocketUnreader``), which is
why gunicorn is pinned; tests/test_files_streamed.py runs it under real gunicorn.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

from cozy.files.content import Upload
from cozy.files.errors import BadRequest
from vfs_s3.writer import normalize_md5

try:
    from gunicorn.http.body import Body, LengthReader
    from gunicorn.http.unreader import SocketUnreader
except ImportError:  # another WSGI server: the plain stream is used
    Body = LengthReader = SocketUnreader = None

_LENGTH = re.compile(r"[0-9]{1,19}")


def body_upload(request: HttpRequest) -> Upload:
    ctype = request.META.get("CONTENT_TYPE", "")
    if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = ctype.split(";")[0]
        raise BadRequest(f"this body is a form ({form}): send the file itself, with its own Content-Type")
    raw_length = request.META.get("CONTENT_LENGTH") or ""
    if raw_length:
        if not _LENGTH.fullmatch(raw_length):
            raise BadRequest("invalid Content-Length")
        length: int | None = int(raw_length)
        direct = socket_body(request.META.get("wsgi.input"), int(raw_length))
        read = direct.read if direct else request.read
        in_hand = direct is not None and direct.held() >= int(raw_length)
    elif request.META.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" or request.META.get(
        "wsgi.input_terminated"
    ):
        length, read, in_hand = None, request.META["wsgi.input"].read, False  # chunked: read to the end
    else:
        length, read, in_hand = 0, request.read, True
    md5_header = request.headers.get("Content-MD5")
    try:
        expected = normalize_md5(md5_header) if md5_header else None
    except ValueError:
        raise BadRequest("Content-MD5 must be the base64 of a 16-byte MD5") from None
    return Upload(read=read, length=length, expected_md5=expected, mime=ctype or None, in_hand=in_hand)


def socket_reader(stream: Any, length: int) -> Callable[[int], bytes] | None:
    """A ``read(n)`` straight from gunicorn's socket, or None when that is not safe."""
    body = socket_body(stream, length)
    return body.read if body else None


def socket_body(stream: Any, length: int) -> _SocketBody | None:
    """The body, read straight from gunicorn's socket, or None when that is not safe."""
    if Body is None or type(stream) is not Body:
        return None
    reader = stream.reader
    if type(reader) is not LengthReader or type(reader.unreader) is not SocketUnreader:
        return None
    if stream.buf.seek(0, io.SEEK_END) or reader.length != length:
        return None  # someone read part of the body already
    return _SocketBody(stream)


class _SocketBody:
    def __init__(self, stream: Any):
        self._stream = stream
        self._reader = stream.reader
        self._unreader = stream.reader.unreader

    def held(self) -> int:
        """Body bytes that came with the headers, read from the socket already."""
        return self._unreader.buf.seek(0, io.SEEK_END)

    def read(self, n: int) -> bytes:
        n = min(n, self._reader.length)
        if n <= 0:
            return b""
        held = self.held()
        try:
            data = self._unreader.read(min(n, held)) if held else self._unreader.sock.recv(n)
        except Exception:
            self._stream.failed = True  # as gunicorn's own reads do: the connection is not reused
            raise
        self._reader.length -= len(data)
        return data
