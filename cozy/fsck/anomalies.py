"""Anomaly types found by fsck, and the record of one anomaly.

Type names follow cozy-stack's fsck where the concept is the same, so that
operators who know it read familiar reports (see docs/fsck.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Store against index (the merge join).
FILESYSTEM_MISSING = "filesystem_missing"  # a file's current content object is absent
VERSION_MISSING = "version_missing"  # a version's content object is absent
INDEX_MISSING = "index_missing"  # an object under the prefix that nothing references
CONTENT_MISMATCH = "content_mismatch"  # size or MD5 of the object differ from the index (detail says which)
THUMBNAIL_WITH_NO_FILE = "thumbnail_with_no_file"  # a thumbnail of no current or kept content
CONTENT_HELD = "content_held"  # an object the index lacks that an unfinished import holds (kept)
# Index tree.
INDEX_MISSING_ROOT = "index_missing_root"
INDEX_MISSING_TRASH = "index_missing_trash"
INDEX_ORPHAN_TREE = "index_orphan_tree"  # parent missing, in another instance, or a file
INDEX_DUPLICATE_NAME = "index_duplicate_name"  # two names of one directory equal (after Unicode NFC)
INDEX_CYCLE = "index_cycle"  # directories that are their own ancestors
TRASHED_NOT_IN_TRASH = "trashed_not_in_trash"
NOT_TRASHED_IN_TRASH = "not_trashed_in_trash"
# Index against itself.
USAGE_MISMATCH = "usage_mismatch"  # the quota's byte counters differ from the sums over the index

ALL_TYPES = (
    FILESYSTEM_MISSING, VERSION_MISSING, INDEX_MISSING, CONTENT_MISMATCH, THUMBNAIL_WITH_NO_FILE, CONTENT_HELD,
    INDEX_MISSING_ROOT, INDEX_MISSING_TRASH, INDEX_ORPHAN_TREE, INDEX_DUPLICATE_NAME, INDEX_CYCLE,
    TRASHED_NOT_IN_TRASH, NOT_TRASHED_IN_TRASH, USAGE_MISMATCH,
)  # fmt: skip


@dataclass
class Anomaly:
    """One finding. ``object`` is relative to the instance prefix, or for a system area
    (``area`` set) to its bucket; never a bucket name or a full key."""

    type: str
    detail: str = ""
    file_id: str = ""  # doc id of the index entry concerned, if any
    content_id: str = ""
    object: str = ""  # e.g. "files/<file_id>/<content_id>"
    extra: dict[str, Any] = field(default_factory=dict)
    fix: str = ""  # what --fix did, or why it left the anomaly alone
    area: str = ""  # the system area it was found in ("" in an instance's areas)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        for name in ("area", "detail", "file_id", "content_id", "object", "fix"):
            if value := getattr(self, name):
                out[name] = value
        out.update(self.extra)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Anomaly:
        known = {k: data[k] for k in ("type", "area", "detail", "file_id", "content_id", "object", "fix") if k in data}
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(**known, extra=extra)
