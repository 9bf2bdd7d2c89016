"""fsck of the release areas: objects of no release are orphans, files of a ready release
that are missing are reported.

The platform's fsck walks instance areas; these system areas are checked here,
by ``manage.py apps fsck [--fix]``, with the same anomaly records.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.utils import timezone

from cozy.apps.models import Kind, Release, ReleaseFile
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


def fix_orphans(kind: str, found: list[Anomaly], grace: timedelta) -> int:
    """Remove orphans older than ``grace`` (a newer one may belong to an install under way)."""
    cutoff = (timezone.now() - grace).isoformat()
    names = [a.object for a in found if a.type == A.INDEX_MISSING and a.extra.get("last_modified", "") < cutoff]
    for anomaly in found:
        if anomaly.object in names:
            anomaly.fix = "removed"
    return store_of(kind).delete_many(names) if names else 0


KINDS = (Kind.WEB, Kind.KONNECTOR)
