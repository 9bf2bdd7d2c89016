"""Stores of areas: an ``S3Storage`` bound to one area's bucket and prefix.

A store's names are relative to its area (``<file_id>/<content_id>`` in the
files area), so no code with a store in hand can address another area or
another instance. The one write entry point is ``store.put(...)``, the one read
entry point ``store.read(...)`` (see vfs_s3.storage).
"""

from __future__ import annotations

from typing import Protocol

from cozy.storage.areas import Area, Place, get
from s3util import bucket_name, system_bucket
from vfs_s3.connection import current_config
from vfs_s3.layout import instance_prefix
from vfs_s3.storage import S3Storage


class HasPlace(Protocol):
    db_prefix: str
    org_id: str


def bucket_prefix() -> str:
    return current_config().bucket_prefix


def bucket_for_org(org_id: str) -> str:
    """The shared bucket of an organization ("" for none), under this deployment's prefix."""
    return bucket_name(bucket_prefix(), org_id or None)


def place_of(instance: HasPlace) -> Place:
    return Place(instance.db_prefix, bucket_for_org(instance.org_id), bucket_prefix())


def _area(area: Area | str) -> Area:
    return get(area) if isinstance(area, str) else area


def instance_root(place: Place) -> S3Storage:
    """Everything of one instance in its organization's bucket (``<db_prefix>/``): for the
    checks and sweeps that must see keys no area claims."""
    return S3Storage(bucket=place.org_bucket, location=instance_prefix(place.db_prefix).rstrip("/"))


def area_store(area: Area | str, place: Place) -> S3Storage:
    """The store of an instance area (a folder area: names below it; a single-key area:
    the instance root, where the area's one name is ``area.path``)."""
    area = _area(area)
    if area.system:
        raise ValueError(f"storage area {area.name!r} is a system area: use system_store")
    if not area.is_folder:
        return instance_root(place)
    location = instance_prefix(place.db_prefix) + area.path.rstrip("/")
    return S3Storage(bucket=place.org_bucket, location=location)


def store_for(instance: HasPlace, area: Area | str) -> S3Storage:
    return area_store(area, place_of(instance))


def system_store(area: Area | str) -> S3Storage:
    area = _area(area)
    if not area.system:
        raise ValueError(f"storage area {area.name!r} belongs to instances: use store_for")
    return S3Storage(bucket=system_bucket(bucket_prefix(), area.path))
