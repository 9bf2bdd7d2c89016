"""Read an export's metadata document from its zip entry piece by piece.

``json.loads`` of the entry needs its whole bytes and its whole text besides the
objects it makes, and the document grows with the number of files. Here the
top-level object is walked with the standard decoder's ``raw_decode``, one
member at a time and the "files" list one record at a time, from a text buffer
that holds a few chunks: only the decoded objects stay.
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Callable
from typing import IO, Any

CHUNK = 64 * 1024
_SPACE = re.compile(r"[ \t\n\r]*")
_STREAMED = "files"  # the member that grows with the instance


def _interned(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose member names are shared: json.loads shares them across one document,
    raw_decode only within one call, and every record would have its own copies."""
    return {sys.intern(key): value for key, value in pairs}


class _Reader:
    def __init__(self, stream: IO[bytes], chunk: int):
        self.text = io.TextIOWrapper(stream, encoding="utf-8")  # decodes across chunk boundaries
        self.chunk, self.buf, self.pos, self.ended = chunk, "", 0, False
        self.decoder = json.JSONDecoder(object_pairs_hook=_interned)

    def _fill(self) -> bool:
        """More text after what is left of the buffer; False at the end of the document."""
        piece = "" if self.ended else self.text.read(self.chunk)
        self.ended = not piece
        self.buf, self.pos = self.buf[self.pos :] + piece, 0
        return bool(piece)

    def peek(self) -> str:
        """The next character that is not white space ("" at the end)."""
        while True:
            self.pos = _SPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf) or not self._fill():
                return self.buf[self.pos : self.pos + 1]

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise ValueError(f"expected {char!r} in the metadata document")
        self.pos += 1

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError:
                if not self._fill():  # cut by the buffer's end, or invalid
                    raise
                continue
            if end < len(self.buf) or not self._fill():  # a number may go on in the next piece
                self.pos = end
                return value


def _items(reader: _Reader, each: Callable[[Any], Any]) -> list[Any]:
    reader.expect("[")
    items: list[Any] = []
    if reader.peek() == "]":
        reader.pos += 1
        return items
    while True:
        items.append(each(reader.value()))
        if reader.peek() != ",":
            reader.expect("]")
            return items
        reader.pos += 1


def _same(value: Any) -> Any:
    return value


def load(stream: IO[bytes], chunk: int = CHUNK, each: Callable[[Any], Any] = _same) -> dict[str, Any]:
    """The JSON object in ``stream``; ValueError if it is not one (or not UTF-8). Each record of
    "files" is what ``each`` makes of it as it is decoded (what ``each`` raises goes through)."""
    reader = _Reader(stream, chunk)
    reader.expect("{")
    doc: dict[str, Any] = {}
    if reader.peek() == "}":
        reader.pos += 1
    else:
        while True:
            key = reader.value()
            if not isinstance(key, str):
                raise ValueError("a member name of the metadata document is not a string")
            reader.expect(":")
            doc[key] = _items(reader, each) if key == _STREAMED and reader.peek() == "[" else reader.value()
            if reader.peek() != ",":
                reader.expect("}")
                break
            reader.pos += 1
    if reader.peek():
        raise ValueError("text after the metadata document")
    return doc
