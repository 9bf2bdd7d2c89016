"""fsck of the release areas and the assets area, as their areas' ``check`` hooks: objects
of no release (no asset) are orphans, files of a ready release (objects of an asset) that
are missing are reported.

The platform's fsck (``manage.py fsck --system``, ``--all``, and its Celery tasks) hands
these hooks each system bucket's listing; ``manage.py apps fsck`` runs the same check on
these three areas only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from cozy.apps.models import Asset, Release, ReleaseFile
from cozy.fsck import anomalies as A
from cozy.fsck.anomalies import Anomaly
from cozy.fsck.context import SystemContext, orphan
from vfs_s3.storage import Listed


def _split(name: str) -> tuple[str, str, str]:
    """``<slug>/<release uid>/<path>`` of a release area's object name."""
    slug, _, rest = name.partition("/")
    uid, _, path = rest.partition("/")
    return slug, uid, path


def check_releases(kind: str, ctx: SystemContext, listed: Iterable[Listed]) -> Iterator[Anomaly]:
    """Join the area's listing with the releases of ``kind``: unknown or deleted releases'
    objects are orphans; a ready release's file that was not listed is missing."""
    releases = {r.uid: r for r in Release.objects.filter(kind=kind)}
    seen: dict[str, set[str]] = {}
    for obj in listed:
        slug, uid, path = _split(obj.name)
        release = releases.get(uid)
        if release is None or release.slug != slug or release.state == Release.State.DELETING or not path:
            yield orphan(obj.name, obj)
        else:
            seen.setdefault(uid, set()).add(path)
    ready = Release.objects.filter(kind=kind, state=Release.State.READY)
    for entry in ReleaseFile.objects.filter(release__in=ready).select_related("release").order_by("pk").iterator():
        ctx.counters.entries += 1
        if entry.path not in seen.get(entry.release.uid, ()):
            yield Anomaly(A.FILESYSTEM_MISSING, detail=f"file of release {entry.release}",
                          object=entry.release.name(entry.path))


def release_references(kind: str, _instance: None, name: str) -> bool:
    """fsck --fix asks again before removing an orphan: a release (not being deleted) owns it now."""
    slug, uid, path = _split(name)
    releases = Release.objects.filter(kind=kind, slug=slug, uid=uid).exclude(state=Release.State.DELETING)
    return bool(path) and releases.exists()


def _asset_keys() -> dict[str, Asset]:
    expected = {}
    for row in Asset.objects.all():
        expected[row.key] = row
        if row.br_key:
            expected[row.br_key] = row
    return expected


def check_assets(ctx: SystemContext, listed: Iterable[Listed]) -> Iterator[Anomaly]:
    """Objects of the assets area that no asset row points at are orphans; a row's missing
    object is reported."""
    expected = _asset_keys()
    ctx.counters.entries += len(expected)
    for obj in listed:
        if expected.pop(obj.name, None) is None:
            yield orphan(obj.name, obj)
    for name in sorted(expected):
        yield Anomaly(A.FILESYSTEM_MISSING, detail="object of an asset", object=name)


def asset_references(_instance: None, name: str) -> bool:
    uid = name.rpartition("/")[2].removesuffix(".br")
    return any(name in (row.key, row.br_key) for row in Asset.objects.filter(uid=uid))
