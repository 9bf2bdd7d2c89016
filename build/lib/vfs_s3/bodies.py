"""Request bodies for the write entry point: any body as chunks, and a timed head.

``S3Storage.put`` takes bytes, a file-like object or an iterable of chunks; this
turns each into chunks of at most ``size`` bytes, and measures how fast a body
arrives, which decides whether it may go as one streamed PUT.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

Body = bytes | bytearray | memoryview | Iterable[bytes] | Any  # Any: an object with read(n)


def chunks_of(body: Body, size: int) -> Iterator[bytes]:
    """The body as bytes chunks; text read from a file is encoded as UTF-8, as on disk."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        data = body if type(body) is bytes else bytes(body)
        view = memoryview(data)
        for start in range(0, len(data), size):
            yield data if len(data) <= size else bytes(view[start : start + size])
        return
    read = getattr(body, "read", None)
    if read is not None:
        while data := read(size):
            yield data.encode() if isinstance(data, str) else data
        return
    for chunk in body:
        if chunk:
            yield chunk


class TimedHead(Iterator[bytes]):
    """The first ``head`` bytes read ahead and timed (``rate``, bytes/s), then the rest."""

    def __init__(self, chunks: Iterator[bytes], head: int):
        start, self._head, self.got = time.monotonic(), deque[bytes](), 0
        while self.got < head and (chunk := next(chunks, None)) is not None:
            self._head.append(chunk)
            self.got += len(chunk)
        self.rate = self.got / max(time.monotonic() - start, 1e-9)
        self._rest = chunks

    def __next__(self) -> bytes:
        return self._head.popleft() if self._head else next(self._rest)  # popped: not held once sent
