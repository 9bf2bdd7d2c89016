"""fsck of the release areas and the assets area: objects of no release (no asset) are
orphans, files of a ready release (objects of an asset) that are missing are reported.

The platform's fsck walks instance areas; these system areas are checked here,
by ``manage.py apps fsck [--fix]``, with the same anomaly records.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.utils import timezone

from cozy.apps import assets
from cozy.apps.models import Asset, Kind, Release, ReleaseFile
from cozy.apps.releases import store_of
from cozy.fsck import anomalies as A
from cozy.fsck.anomalies import Anomaly
from cozy.fsck.context import orphan


def check_area(kind: str) -> Iterator[Anomaly]:
    """Join the area's listing with the releases: unknown or deleted releases' objects are
    orphans; a ready release's file that was not listed is missing."""
    releases = {r.uid: r for r in Release.objects.filter(kind=kind)}
    seen: dict[str, set[str]] = {}
    for obj in store_of(kind).list():
        slug, _, rest = obj.name.partition("/")
        uid, _, path = rest.partition("/")
        release = releases.get(uid)
        if release is None or release.slug != slug or release.state == Release.State.DELETING or not path:
            yield orphan(obj.name, obj)
        else:
            seen.setdefault(uid, set()).add(path)
    ready = Release.objects.filter(kind=kind, state=Release.State.READY)
    for entry in ReleaseFile.objects.filter(release__in=ready).select_related("release").order_by("pk"):
        if entry.path not in seen.get(entry.release.uid, ()):
            yield Anomaly(A.FILESYSTEM_MISSING, detail=f"file of release {entry.release}",
                          object=entry.release.name(entry.path))


def check_assets() -> Iterator[Anomaly]:
    """Objects of the assets area that no asset row points at are orphans; a row's missing
    object is reported."""
    expected = {}
    for row in Asset.objects.all():
        expected[row.key] = row
        if row.br_key:
            expected[row.br_key] = row
    for obj in assets.store().list():
        if expected.pop(obj.name, None) is None:
            yield orphan(obj.name, obj)
    for name in sorted(expected):
        yield Anomaly(A.FILESYSTEM_MISSING, detail="object of an asset", object=name)


def fix_orphans(kind: str, found: list[Anomaly], grace: timedelta) -> int:
    """Remove orphans older than ``grace`` (a newer one may belong to an install under way)."""
    cutoff = (timezone.now() - grace).isoformat()
    names = [a.object for a in found if a.type == A.INDEX_MISSING and a.extra.get("last_modified", "") < cutoff]
    for anomaly in found:
        if anomaly.object in names:
            anomaly.fix = "removed"
    store = assets.store() if kind == ASSETS else store_of(kind)
    return store.delete_many(names) if names else 0


ASSETS = "assets"
KINDS = (Kind.WEB, Kind.KONNECTOR)


def check(kind: str) -> Iterator[Anomaly]:
    return check_assets() if kind == ASSETS else check_area(kind)
