"""``--fix``: repair only what is safe, and say what was done for each anomaly.

- Orphan objects (``index_missing``, ``thumbnail_with_no_file``) are removed
  only when older than the grace period (``COZY_FSCK_ORPHAN_GRACE`` seconds,
  default one day) and, for an object inside an area, when the area says its
  index still does not reference it, asked again just before: an upload between
  its write and its index commit is never removed.
- Every other type is repaired by the area that reported it (its ``repairs``),
  or left to an operator.

A system area's anomalies (``anomaly.area`` set) are fixed the same way, in
that area's bucket, with no instance (``referenced(None, name)``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.conf import settings

from cozy.fsck import anomalies as A
from cozy.fsck.anomalies import Anomaly
from cozy.instances.models import Instance
from cozy.storage.areas import Area, area_of, get, instance_areas
from cozy.storage.stores import instance_root, place_of, store_for, system_store
from s3util import sanitize_error
from vfs_s3.storage import S3Storage

log = logging.getLogger("cozy.fsck")
DEFAULT_GRACE = 86400
ORPHANS = (A.INDEX_MISSING, A.THUMBNAIL_WITH_NO_FILE)


def orphan_grace() -> float:
    value = getattr(settings, "COZY_FSCK_ORPHAN_GRACE", None)
    if value is None:
        value = os.environ.get("COZY_FSCK_ORPHAN_GRACE", str(DEFAULT_GRACE))
    return float(value)  # 0 is a valid grace: remove orphans at once


class Fixer:
    """Repairs of one instance's anomalies, or (``instance`` None) of the system areas'."""

    def __init__(self, instance: Instance | None, grace: float | None = None):
        self.instance = instance
        self.grace = orphan_grace() if grace is None else grace

    def store(self, area: Area) -> S3Storage:
        if area.system:
            return system_store(area)
        return store_for(self._instance(), area)

    def _instance(self) -> Instance:
        if self.instance is None:
            raise ValueError("an instance's keys are fixed for that instance, not with the system areas")
        return self.instance

    def _owner(self, anomaly: Anomaly) -> Area | None:
        if anomaly.area:
            return get(anomaly.area)
        return area_of(anomaly.object) if anomaly.object else None

    def fix(self, anomaly: Anomaly) -> None:
        try:
            anomaly.fix = self._handler(anomaly)(anomaly)
        except Exception as err:  # noqa: BLE001 - one failed repair must not stop the others
            anomaly.fix = f"failed: {sanitize_error(err)}"
            log.warning("fsck --fix of a %s failed: %s", anomaly.type, sanitize_error(err))

    def _handler(self, anomaly: Anomaly) -> Callable[[Anomaly], str]:
        if anomaly.type in ORPHANS:
            return self._remove_orphan
        owner = self._owner(anomaly)
        for area in [owner] if owner else instance_areas():
            repair = (area.repairs or {}).get(anomaly.type)
            if repair is not None:
                return lambda a: repair(self, a)
        return lambda a: "not fixed: needs an operator"

    def _young(self, anomaly: Anomaly) -> bool:
        modified = anomaly.extra.get("last_modified")
        if not modified:
            return True
        return datetime.fromisoformat(modified) > datetime.now(UTC) - timedelta(seconds=self.grace)

    def _remove_orphan(self, anomaly: Anomaly) -> str:
        if self._young(anomaly):
            return "kept: younger than the grace period (an upload may be in flight)"
        area = self._owner(anomaly)
        name = anomaly.object.removeprefix(area.path) if area and area.is_folder else anomaly.object
        if area and area.referenced and area.referenced(self.instance, name):
            return "kept: the index references it now"
        store = self.store(area) if area else instance_root(place_of(self._instance()))
        store.delete_many([name])
        return "removed"
