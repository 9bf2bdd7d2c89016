"""Start-up bucket creation: every system area's bucket and every organization's bucket."""

from __future__ import annotations

from collections.abc import Iterable

from cozy.storage.areas import system_areas
from cozy.storage.stores import HasPlace, bucket_for_org, system_store
from vfs_s3.storage import S3Storage


def ensure_system_buckets() -> list[str]:
    """Create (idempotently) the bucket of every registered system area."""
    stores = [system_store(area) for area in system_areas()]
    for store in stores:
        store.ensure_bucket()
    return [store.bucket_name for store in stores]


def ensure_org_bucket(org_id: str) -> str:
    store = S3Storage(bucket=bucket_for_org(org_id))
    store.ensure_bucket()
    return store.bucket_name


def ensure_org_buckets(instances: Iterable[HasPlace]) -> set[str]:
    """Create the bucket of every organization these instances belong to."""
    orgs = sorted({instance.org_id for instance in instances})
    return {ensure_org_bucket(org_id) for org_id in orgs}
