"""Where an import reads its zip parts: local files, or the manifest URL of an export.

A manifest URL of an export on this cozy (its host is one of our instances) is
read from the store itself: each part is an S3 object opened as a seekable
reader, so zipfile reads it by ranged GETs, with nothing downloaded to disk.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from cozy.exports.importer import ImportRefused
from cozy.exports.models import Export
from cozy.exports.runner import exports_store
from cozy.exports.services import BadToken, export_for_token
from cozy.instances.middleware import instance_for_host

MANIFEST_PATH = "/move/exports/"


def export_of_manifest(url: str) -> Export:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.path.startswith(MANIFEST_PATH) or not parts.netloc:
        raise ImportRefused("not a manifest URL (https://<cozy>/move/exports/<token>)")
    instance = instance_for_host(parts.netloc)
    if instance is None:
        raise ImportRefused("this manifest is not on this cozy: only local exports are read (for now)")
    try:
        export = export_for_token(instance, parts.path.removeprefix(MANIFEST_PATH).rstrip("/"))
    except BadToken as err:
        raise ImportRefused(str(err)) from None
    if export.state != Export.State.DONE:
        raise ImportRefused(f"the export is {export.state}, not done")
    return export


@contextlib.contextmanager
def opened_parts(sources: list[str]) -> Iterator[list[IO[bytes]]]:
    """The zip parts named by ``sources`` (one manifest URL, or local part files in order)."""
    with contextlib.ExitStack() as stack:
        if len(sources) == 1 and sources[0].startswith(("http://", "https://")):
            export = export_of_manifest(sources[0])
            store = exports_store(export)
            files = [stack.enter_context(store.open(export.part_name(p["n"]))) for p in export.parts]
        else:
            try:
                files = [stack.enter_context(Path(s).open("rb")) for s in sources]
            except OSError as err:
                raise ImportRefused(f"cannot read {err.filename}: {err.strerror}") from None
        yield files
