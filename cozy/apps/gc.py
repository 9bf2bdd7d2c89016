"""Garbage collection of releases: delete what no installation has used for a grace period.

A release is taken in one UPDATE (ready -> deleting) whose condition says no
installation uses it and its GC clock is past the grace; an install that
switches to it writes the release row first, so the two never cross. Installs
that died half-way (``installing`` for too long) and deletions that stopped
half-way (``deleting``) are finished here too.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from cozy.apps.area import mark_unused
from cozy.apps.models import Installation, Release
from cozy.apps.releases import discard, stale_install

log = logging.getLogger(__name__)


def grace() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "COZY_APPS_GC_GRACE", 24 * 3600)))


def collect(grace_period: timedelta | None = None) -> list[str]:
    """Delete unused releases past their grace; returns the deleted releases' names."""
    now = timezone.now()
    cutoff = now - (grace() if grace_period is None else grace_period)
    in_use = Installation.objects.filter(release=OuterRef("pk"))
    unused = list(Release.objects.filter(state=Release.State.READY).exclude(Exists(in_use))
                  .values_list("pk", flat=True))  # fmt: skip
    mark_unused(unused)  # a release that lost its users without being marked (a crash) gets its clock now
    for pk in unused:
        (Release.objects.filter(pk=pk, state=Release.State.READY, unused_since__lte=cutoff)
         .exclude(Exists(in_use)).update(state=Release.State.DELETING))  # fmt: skip
    Release.objects.filter(state=Release.State.INSTALLING, created_at__lt=now - stale_install()).update(
        state=Release.State.DELETING)
    deleted = []
    for release in Release.objects.filter(state=Release.State.DELETING):
        discard(release)
        if not Release.objects.filter(pk=release.pk).exists():
            deleted.append(str(release))
            log.info("release %s collected", release)
    return deleted
