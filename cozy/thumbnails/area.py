"""The thumbnails area, and its fsck check: a thumbnail of a content the index does not hold."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from cozy.files.fsck.scan import file_contents
from cozy.fsck import anomalies as A
from cozy.fsck.anomalies import Anomaly
from cozy.fsck.context import CheckContext, orphan
from cozy.storage.areas import Area
from vfs_s3.storage import Listed


def thumb_ids(name: str) -> tuple[str, str]:
    """(file_id, content_id) of ``<file_id>/<content_id>-<format>``; ("", "") if malformed."""
    parts = name.split("/")
    if len(parts) != 2 or not parts[0] or "-" not in parts[1]:
        return "", ""
    return parts[0], parts[1].rpartition("-")[0]


def check_thumbs(ctx: CheckContext, listed: Iterable[Listed]) -> Iterator[Anomaly]:
    """Thumbnails whose file is gone, or whose content is neither current nor kept: both
    sides in file id order, so one pass holds one file's contents at a time."""
    files = file_contents(ctx.instance)
    current: tuple[str, frozenset[str]] | None = None
    exhausted = False
    for obj in listed:
        file_id, content_id = thumb_ids(obj.name)
        while not exhausted and (current is None or current[0] + "/" < file_id + "/"):
            current = next(files, None)
            exhausted = current is None
        if not (file_id and current is not None and current[0] == file_id and content_id in current[1]):
            yield orphan(ctx.rel(obj.name), obj, A.THUMBNAIL_WITH_NO_FILE)


THUMBS = Area("thumbs", "thumbs/", check=check_thumbs)
