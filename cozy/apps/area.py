"""The two system areas of releases, ``<bucket_prefix>-apps-web`` and ``-apps-konnectors``.

Keys are ``<slug>/<release uid>/<path>``: a fresh uid per install attempt, so
two tarballs claiming one version never share a key. Instance deletion drops
the instance's installations (``forget``); the releases nobody uses any more
are collected later by the GC task (cozy.apps.gc), after a grace period. fsck checks
both areas against the releases (cozy.apps.checks).
"""

from __future__ import annotations

from functools import partial

from django.db.models import Exists, OuterRef
from django.utils import timezone

from cozy.apps.checks import check_releases, release_references
from cozy.apps.models import Installation, Kind, Release
from cozy.storage.areas import Area, Place


def forget_installations(instance) -> None:
    used = list(Installation.objects.filter(instance=instance).values_list("release_id", flat=True))
    Installation.objects.filter(instance=instance).delete()
    mark_unused([pk for pk in used if pk is not None])


def mark_unused(release_ids: list[int]) -> int:
    """Start the GC clock of those releases that no installation uses any more."""
    others = Installation.objects.filter(release=OuterRef("pk"))
    return (Release.objects.filter(pk__in=release_ids, unused_since=None).exclude(Exists(others))
            .update(unused_since=timezone.now()))  # fmt: skip


def release_place(place: Place) -> None:
    """After the instance's objects are gone: its installations went in phase 1 (forget);
    nothing of the shared releases is deleted here, the GC task does it after its grace."""
    Installation.objects.filter(instance__db_prefix=place.db_prefix).delete()


WEB = Area("apps-web", "apps-web", system=True, forget=forget_installations, release=release_place,
           check=partial(check_releases, Kind.WEB), referenced=partial(release_references, Kind.WEB))
KONNECTORS = Area("apps-konnectors", "apps-konnectors", system=True, release=release_place,
                  check=partial(check_releases, Kind.KONNECTOR), referenced=partial(release_references, Kind.KONNECTOR))
AREA_OF_KIND = {Kind.WEB: WEB, Kind.KONNECTOR: KONNECTORS}
