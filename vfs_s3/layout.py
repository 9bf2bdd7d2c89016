"""Object keys of an instance inside its organization's bucket.

Keys hang off ids, never names or paths, so rename and move touch only the
index. Every key starts with ``<db_prefix>/``: the trailing slash keeps
instance ``a1`` away from ``a10/``.
"""

from __future__ import annotations

import re
import secrets

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _checked(value: str, what: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"invalid {what}")
    return value


def instance_prefix(db_prefix: str) -> str:
    return f"{_checked(db_prefix, 'instance prefix')}/"


def files_prefix(db_prefix: str) -> str:
    return f"{instance_prefix(db_prefix)}files/"


def file_folder(db_prefix: str, file_id: str) -> str:
    """The folder shared by a file's current content and all its versions."""
    return f"{files_prefix(db_prefix)}{_checked(file_id, 'file id')}/"


def content_key(db_prefix: str, file_id: str, content_id: str) -> str:
    return f"{file_folder(db_prefix, file_id)}{_checked(content_id, 'content id')}"


def thumbs_prefix(db_prefix: str) -> str:
    return f"{instance_prefix(db_prefix)}thumbs/"


def thumb_key(db_prefix: str, file_id: str, content_id: str, size: str) -> str:
    folder = f"{thumbs_prefix(db_prefix)}{_checked(file_id, 'file id')}/"
    return f"{folder}{_checked(content_id, 'content id')}-{_checked(size, 'size')}"


def avatar_key(db_prefix: str) -> str:
    return f"{instance_prefix(db_prefix)}avatar"


def new_content_id() -> str:
    """A fresh random id for every write: no write ever replaces another's object."""
    return secrets.token_hex(16)
