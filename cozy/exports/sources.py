"""Where an import reads its zip parts: local files, the manifest URL of an export, or an
archive uploaded to the API (uploaded.py), stored in the instance's exports area.

A manifest URL of an export on this cozy (its host is one of our instances) is
read from the store itself: each part is an S3 object opened as a seekable
reader, so zipfile reads it by ranged GETs, with nothing downloaded to disk.
One of another cozy is read the same way over HTTP (remote.py).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from cozy.exports.importer import ImportRefused
from cozy.exports.models import Export
from cozy.exports.remote import RangeReader, fetch_manifest
from cozy.exports.runner import exports_store
from cozy.exports.services import BadToken, export_for_token
from cozy.exports.uploaded import is_uploaded, open_uploaded
from cozy.instances.middleware import instance_for_host
from cozy.instances.models import Instance
from vfs_s3.storage import S3Storage

MANIFEST_PATH = "/move/exports/"
SKIP_LIMIT = 1024 * 1024  # a forward seek up to this far reads on rather than opening a new GET
BUFFER = 1024 * 1024


class ForwardSeeking(io.RawIOBase):
    """A seekable reader over one that opens a new (ranged) GET on every seek: a short forward
    seek reads the bytes between instead. zipfile seeks to each entry's header, a few bytes
    past the previous entry's data (its data descriptor): one GET then reads a whole part,
    instead of one GET and one new connection per entry."""

    def __init__(self, raw: Any):  # the store's S3File, or a RangeReader: seek, tell, read
        super().__init__()
        self.raw = raw

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.raw.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        here = self.raw.tell()
        target = {io.SEEK_SET: offset, io.SEEK_CUR: here + offset}.get(whence)
        if target is None or not here < target <= here + SKIP_LIMIT:
            return self.raw.seek(offset, whence)
        while here < target and (skipped := self.raw.read(target - here)):
            here += len(skipped)
        return here if here == target else self.raw.seek(target)

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.raw.close()
        super().close()


def buffered(raw: Any) -> IO[bytes]:
    return io.BufferedReader(ForwardSeeking(raw), BUFFER)


def check_manifest_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.fragment.startswith("/exports/"):  # cozy-stack's settings link to its export
        raise ImportRefused("a cozy-stack export link: download its zip parts, then import them with "
                            "manage.py instances import <domain> <part.zip>...")  # fmt: skip
    if parts.scheme not in ("http", "https") or not parts.path.startswith(MANIFEST_PATH) or not parts.netloc:
        raise ImportRefused("not a manifest URL (https://<cozy>/move/exports/<token>)")


def export_of_manifest(url: str, instance: Instance) -> Export:
    parts = urlsplit(url)
    try:
        export = export_for_token(instance, parts.path.removeprefix(MANIFEST_PATH).rstrip("/"))
    except BadToken as err:
        raise ImportRefused(str(err)) from None
    if export.state != Export.State.DONE:
        raise ImportRefused(f"the export is {export.state}, not done")
    return export


def remote_allowed(url: str, remote: bool | Collection[str]) -> bool:
    """Whether ``url``'s host may be fetched: any (the operator's command), or one of a list
    (the API: fetching any URL a user gives would reach into the operator's network)."""
    if isinstance(remote, bool):
        return remote
    return (urlsplit(url).hostname or "") in remote


def _stored_part(store: S3Storage, export: Export, part: dict[str, Any]) -> Any:
    """The part's object, if it has the size its export recorded (checked when it was made)."""
    opened = store.open(export.part_name(part["n"]))
    if opened.size != part["size"]:
        opened.close()
        raise ImportRefused(f"part {part['n']} of the export is not the size its manifest records")
    return opened


@contextlib.contextmanager
def opened_parts(sources: list[str], *, remote: bool | Collection[str] = True, prefer_local: bool = True,
                 instance: Instance | None = None) -> Iterator[list[IO[bytes]]]:  # fmt: skip
    """The zip parts named by ``sources`` (one manifest URL, local part files in order, or
    ``instance``'s uploaded archive).

    A manifest of this cozy is read from the store; one of another cozy over HTTP(S), if
    ``remote`` allows its host."""
    with contextlib.ExitStack() as stack:
        files: list[IO[bytes]]
        if len(sources) == 1 and is_uploaded(sources[0]):
            if instance is None:
                raise ImportRefused("an uploaded archive is read only by an import into its instance")
            files = [stack.enter_context(buffered(open_uploaded(instance, sources[0])))]
        elif len(sources) == 1 and sources[0].startswith(("http://", "https://")):
            url = sources[0]
            check_manifest_url(url)
            local = instance_for_host(urlsplit(url).netloc) if prefer_local else None
            if local is not None:
                export = export_of_manifest(url, local)
                store = exports_store(export)
                files = [stack.enter_context(buffered(_stored_part(store, export, p))) for p in export.parts]
            elif remote_allowed(url, remote):
                files = [stack.enter_context(buffered(RangeReader(p))) for p in fetch_manifest(url)]
            else:
                raise ImportRefused("this manifest is on another cozy, which this server may not fetch")
        else:
            try:
                files = [stack.enter_context(Path(s).open("rb")) for s in sources]
            except OSError as err:
                raise ImportRefused(f"cannot read {err.filename}: {err.strerror}") from None
        yield files
