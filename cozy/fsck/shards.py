"""Key-range shards of an instance's ``files/`` folder, by file id.

A shard covers the file folders ``<file_id>/`` with ``lo <= folder < hi`` in
byte order. File ids are hex UUIDs, so boundaries split the hex space evenly;
the first shard starts at "" and the last has no end, so any id is covered.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KeyRange:
    lo: str = ""
    hi: str | None = None  # None: no upper bound

    def contains(self, folder: str) -> bool:
        return folder >= self.lo and (self.hi is None or folder < self.hi)


def split(shards: int) -> list[KeyRange]:
    """``shards`` ranges covering every file id (at most 256)."""
    if not 1 <= shards <= 256:
        raise ValueError("shards must be between 1 and 256")
    bounds = [f"{i * 256 // shards:02x}" for i in range(1, shards)]
    los = ["", *bounds]
    his: list[str | None] = [*bounds, None]
    return [KeyRange(lo, hi) for lo, hi in zip(los, his, strict=True)]
