"""The import's records of the archive's index: each metadata record checked on its own as it
is decoded, and kept as a slotted object rather than the decoded dict.

An import holds one record per node until its final commit; a dict of a
dozen members weighs several times a slotted object of the same values, and
strings that repeat across records (types, mime types, parent ids) are shared.
What involves several records (parents before children, names unique in a
directory, contents in their parts) is the plan's to check (importer.py).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cozy.files.errors import APIError
from cozy.files.models import ROOT_ID, TRASH_ID
from cozy.files.names import check_name
from vfs_s3.layout import checked_id
from vfs_s3.writer import normalize_md5

SPECIAL = (ROOT_ID, TRASH_ID)


class InvalidRecord(ValueError):
    """A metadata record that is not one; its message says what is wrong."""


@dataclass(slots=True)
class VersionRecord:
    id: str  # the content id (replaced by a fresh one where this cozy uses it)
    size: int
    md5: str  # hex, "" for an empty content
    mime: str
    created_at: datetime
    part: int
    entry: str


@dataclass(slots=True)
class Record:
    id: str
    dir_id: str  # "" for the root
    type: str
    name: str
    trashed: bool
    restore_path: str
    created_at: datetime
    updated_at: datetime
    size: int = 0
    md5: str = ""
    mime: str = ""
    content_id: str = ""  # "" for a directory, or a file whose current content is not exported
    revision: int = 1
    part: int = 0  # where the current content is in the archive
    entry: str = ""
    versions: tuple[VersionRecord, ...] = ()


def _date(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("a date is missing")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("a date has no time zone")
    return parsed


def _md5(value: Any, size: int) -> str:
    md5 = normalize_md5(value or "") or ""
    if size and not md5:
        raise ValueError("a content has no MD5")
    return md5


def _place(rec: dict[str, Any]) -> tuple[int, str]:
    part, entry = rec.get("part"), rec.get("entry")
    if not isinstance(part, int) or isinstance(part, bool) or part < 1 or not isinstance(entry, str):
        raise ValueError("a content has no place in the archive")
    return part, entry


def _size(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("a content's size is not a byte count")
    return value


def _version(rec: dict[str, Any]) -> VersionRecord:
    content_id = checked_id(rec["id"], "content id")
    size = _size(rec.get("size"))
    return VersionRecord(content_id, size, _md5(rec.get("md5"), size), sys.intern(str(rec.get("mime") or "")),
                         _date(rec["created_at"]), *_place(rec))  # fmt: skip


def _record(rec: dict[str, Any]) -> Record:
    kind, file_id = rec["type"], rec["id"]
    if kind not in ("file", "directory"):
        raise ValueError("a node is neither a file nor a directory")
    created_at, updated_at = _date(rec["created_at"]), _date(rec["updated_at"])
    if file_id in SPECIAL:
        return Record(file_id, "", sys.intern(kind), "", False, "", created_at, updated_at)
    record = Record(checked_id(file_id, "file id"), sys.intern(str(rec["dir_id"])), sys.intern(kind),
                    check_name(rec["name"]), bool(rec.get("trashed")), str(rec.get("restore_path") or ""),
                    created_at, updated_at)  # fmt: skip
    if kind == "file":
        record.mime = sys.intern(str(rec.get("mime") or ""))
        record.revision = int(rec.get("revision") or 1)
        record.size = _size(rec.get("size") or 0)
        record.md5 = _md5(rec.get("md5"), record.size if rec.get("content_id") else 0)
        if rec.get("content_id"):
            record.content_id = checked_id(rec["content_id"], "content id")
            record.part, record.entry = _place(rec)
        record.versions = tuple(_version(v) for v in rec.get("versions") or ())
    return record


def to_record(rec: Any) -> Record:
    """``rec`` (a decoded metadata record) checked on its own; InvalidRecord if it is not one."""
    try:
        if not isinstance(rec, dict):
            raise ValueError("a record is not an object")
        return _record(rec)
    except KeyError as err:
        raise InvalidRecord(f"a record has no {err.args[0]!r}") from None
    except APIError as err:
        raise InvalidRecord(err.detail) from None
    except (ValueError, TypeError, AttributeError) as err:
        raise InvalidRecord(str(err)) from None
