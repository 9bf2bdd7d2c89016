"""A read-only file over a remote object of known size, where a seek only moves the position:
the subclass opens one streamed read from the position on first use and drops it on seek."""

from __future__ import annotations

import io


class RangedReader(io.RawIOBase):
    """Seek and tell for a stream that restarts at the position after a seek.

    Subclasses give ``_length()`` and ``_drop()`` (close the open stream, if any)."""

    _pos = 0

    def _length(self) -> int:
        raise NotImplementedError

    def _drop(self) -> None:
        raise NotImplementedError

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if whence not in (io.SEEK_SET, io.SEEK_CUR, io.SEEK_END):
            raise ValueError(f"invalid whence ({whence})")
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length()}[whence]
        target = base + offset
        if target < 0:
            raise OSError("negative seek position")
        if target != self._pos:
            self._drop()
            self._pos = target
        return self._pos
