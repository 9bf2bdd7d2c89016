"""The parts of object keys: an instance's prefix, fresh content ids, safe id checks.

Keys hang off ids, never names or paths, so rename and move touch only the
index. Every key of an instance starts with ``<db_prefix>/``: the trailing
slash keeps instance ``a1`` away from ``a10/``. What comes after belongs to
the storage areas (cozy.storage.areas).
"""

from __future__ import annotations

import re
import secrets

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def checked_id(value: str, what: str) -> str:
    """``value`` if it is a safe key part (letters, digits, ``_``, ``-``), else ValueError."""
    if not _ID.match(value):
        raise ValueError(f"invalid {what}")
    return value


def instance_prefix(db_prefix: str) -> str:
    return f"{checked_id(db_prefix, 'instance prefix')}/"


def new_content_id() -> str:
    """A fresh random id for every write: no write ever replaces another's object."""
    return secrets.token_hex(16)
