"""Where an import reads its zip parts: local files, or the manifest URL of an export.

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
from typing import IO
from urllib.parse import urlsplit

from cozy.exports.importer import ImportRefused
from cozy.exports.models import Export
from cozy.exports.remote import RangeReader, fetch_manifest
from cozy.exports.runner import exports_store
from cozy.exports.services import BadToken, export_for_token
from cozy.instances.middleware import instance_for_host
from cozy.instances.models import Instance

MANIFEST_PATH = "/move/exports/"


def check_manifest_url(url: str) -> None:
    parts = urlsplit(url)
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


@contextlib.contextmanager
def opened_parts(sources: list[str], *, remote: bool | Collection[str] = True,
                 prefer_local: bool = True) -> Iterator[list[IO[bytes]]]:  # fmt: skip
    """The zip parts named by ``sources`` (one manifest URL, or local part files in order).

    A manifest of this cozy is read from the store; one of another cozy over HTTP(S), if
    ``remote`` allows its host."""
    with contextlib.ExitStack() as stack:
        if len(sources) == 1 and sources[0].startswith(("http://", "https://")):
            url = sources[0]
            check_manifest_url(url)
            local = instance_for_host(urlsplit(url).netloc) if prefer_local else None
            files: list[IO[bytes]]
            if local is not None:
                export = export_of_manifest(url, local)
                store = exports_store(export)
                files = [stack.enter_context(store.open(export.part_name(p["n"]))) for p in export.parts]
            elif remote_allowed(url, remote):
                files = [stack.enter_context(io.BufferedReader(RangeReader(p), 1024 * 1024))
                         for p in fetch_manifest(url)]  # fmt: skip
            else:
                raise ImportRefused("this manifest is on another cozy, which this server may not fetch")
        else:
            try:
                files = [stack.enter_context(Path(s).open("rb")) for s in sources]
            except OSError as err:
                raise ImportRefused(f"cannot read {err.filename}: {err.strerror}") from None
        yield files
