"""Storage areas: where each kind of stored data lives, and how to list, purge and check it.

An app that stores a kind of data registers its area in ``AppConfig.ready()``::

    register(Area("notes", "notes/", check=check_notes, forget=forget_notes))

An *instance* area lies in the organization's bucket under ``<db_prefix>/<path>``
(``path`` is a folder ending in "/", or a single key such as ``avatar``). A
*system* area is a bucket of its own, ``<bucket_prefix>-<path>``, shared by
instances. Instance deletion, fsck and start-up bucket creation loop over this
registry and know nothing of a particular area; the hooks say what an area
needs beyond the default (see each field).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

_PATH = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}/?")


@dataclass(frozen=True)
class Place:
    """Where an instance's data lives, without its row (a deletion job outlives the row)."""

    db_prefix: str
    org_bucket: str
    bucket_prefix: str


@dataclass(frozen=True)
class Area:
    name: str
    path: str  # instance area: "files/" or "avatar" below <db_prefix>/; system area: the bucket kind
    system: bool = False
    # fsck: check(ctx, listed) joins the area's listed objects with its index and yields anomalies
    # (cozy.fsck.context); an area without it has its objects counted, never reported. A system
    # area's check gets its whole bucket's listing, once per run, and a context with no instance.
    check: Callable[[Any, Iterable[Any]], Iterable[Any]] | None = None
    sharded: bool = False  # check is called once per key range of the area's first-level folders
    # fsck: check_index(ctx) yields anomalies of the area's index alone (the files tree).
    check_index: Callable[[Any], Iterable[Any]] | None = None
    # fsck --fix: anomaly type -> repair(ctx, anomaly) returning what was done.
    repairs: dict[str, Callable[[Any, Any], str]] | None = None
    # fsck --fix: whether the index references this object now (name relative to the area;
    # instance None for a system area).
    referenced: Callable[[Any, str], bool] | None = None
    # Instance deletion, phase 1, in one transaction with the instance row locked: forget the index.
    forget: Callable[[Any], None] | None = None
    # Instance deletion: (objects, bytes) the index knows of, for progress.
    totals: Callable[[Any], tuple[int, int]] | None = None
    # Instance deletion, system areas: release what the instance held there (its bytes are shared).
    release: Callable[[Place], None] | None = None

    def __post_init__(self) -> None:
        if not _PATH.fullmatch(self.path) or (self.system and self.path.endswith("/")):
            raise ValueError(f"storage area {self.name!r}: invalid path")

    @property
    def is_folder(self) -> bool:
        return self.path.endswith("/")


_areas: dict[str, Area] = {}


def register(area: Area) -> Area:
    """Add (or replace, by name) an area; idempotent. Two areas cannot share a path."""
    for other in _areas.values():
        if other.name != area.name and (other.system, other.path) == (area.system, area.path):
            raise ValueError(f"storage areas {other.name!r} and {area.name!r} share a path")
    _areas[area.name] = area
    return area


def unregister(name: str) -> None:
    _areas.pop(name, None)


def registered() -> list[Area]:
    return list(_areas.values())


def get(name: str) -> Area:
    try:
        return _areas[name]
    except KeyError:
        raise LookupError(f"no storage area {name!r} is registered") from None


def instance_areas() -> list[Area]:
    return [a for a in _areas.values() if not a.system]


def system_areas() -> list[Area]:
    return [a for a in _areas.values() if a.system]


def area_of(rel: str) -> Area | None:
    """The instance area that a key (relative to ``<db_prefix>/``) belongs to, if any."""
    for area in instance_areas():
        if rel.startswith(area.path) if area.is_folder else rel == area.path:
            return area
    return None
