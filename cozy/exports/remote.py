"""An export on another cozy: its manifest fetched over HTTP(S), its parts read as seekable
files by ranged GETs (one streamed GET from the current position until the next seek), so
that zipfile reads what it needs and nothing is downloaded to disk."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import urllib3

from cozy.exports.importer import ImportRefused
from vfs_s3.ranged import RangedReader

TIMEOUT = urllib3.Timeout(connect=10, read=60)
_http = urllib3.PoolManager(retries=urllib3.Retry(total=3, backoff_factor=0.5), timeout=TIMEOUT)


class RemoteUnavailable(OSError):
    """The export's server failed or went away (no URL in the message: it holds a token)."""


@dataclass(frozen=True)
class RemotePart:
    url: str
    size: int


def fetch_manifest(url: str) -> list[RemotePart]:
    try:
        resp = _http.request("GET", url, headers={"Accept": "application/json"})
    except urllib3.exceptions.HTTPError:
        raise RemoteUnavailable("the export's server is unreachable") from None
    if resp.status in (401, 403, 404):
        raise ImportRefused("the export's server refused the manifest URL (invalid or expired)")
    if resp.status != 200:
        raise RemoteUnavailable(f"the export's server answered HTTP {resp.status}")
    try:
        attributes: dict[str, Any] = json.loads(resp.data)["data"]["attributes"]
        if attributes["state"] != "done":
            raise ImportRefused(f"the export is {attributes['state']}, not done")
        return [RemotePart(str(p["url"]), int(p["size"])) for p in attributes["parts"]]
    except (ValueError, KeyError, TypeError):
        raise ImportRefused("not an export manifest") from None


class RangeReader(RangedReader):
    """A seekable, read-only view of one part at ``url`` (``size`` bytes, from the manifest)."""

    def __init__(self, part: RemotePart):
        super().__init__()
        self.part, self._pos = part, 0
        self._resp: Any = None

    def _length(self) -> int:
        return self.part.size

    def _stream(self) -> Any:
        if self._resp is None:
            try:
                resp = _http.request("GET", self.part.url, headers={"Range": f"bytes={self._pos}-"},
                                     preload_content=False)  # fmt: skip
            except urllib3.exceptions.HTTPError:
                raise RemoteUnavailable("the export's server is unreachable") from None
            if resp.status != 206 or not str(resp.headers.get("Content-Range", "")).startswith(f"bytes {self._pos}-"):
                resp.release_conn()
                raise RemoteUnavailable(f"the export's server answered HTTP {resp.status} to a ranged read")
            self._resp = resp
        return self._resp

    def read(self, size: int = -1) -> bytes:
        if self._pos >= self.part.size or size == 0:
            return b""
        want = self.part.size - self._pos if size is None or size < 0 else min(size, self.part.size - self._pos)
        try:
            data = self._stream().read(want)
        except urllib3.exceptions.HTTPError:
            self._drop()
            raise RemoteUnavailable("the export's server went away mid-read") from None
        if not data:
            raise RemoteUnavailable("a part ended before its size")
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def _drop(self) -> None:
        if self._resp is not None:
            self._resp.release_conn()
            self._resp = None

    def close(self) -> None:
        self._drop()
        super().close()
