"""Expired exports: refused at once by the routes, and removed here (rows kept as expired).

An export past its expiry is marked expired first, then its objects go: a
crash in between leaves objects of an expired export, which the next sweep
(and fsck) removes.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from cozy.exports.models import Export
from cozy.exports.runner import exports_store, remove_objects
from s3util import sanitize_error

log = logging.getLogger("cozy.exports")


def expire_exports() -> int:
    """Mark every export past its expiry expired and remove its objects; how many were removed."""
    now = timezone.now()
    Export.objects.filter(expires_at__lte=now).exclude(state=Export.State.EXPIRED).update(
        state=Export.State.EXPIRED, finished_at=now
    )
    removed = 0
    for export in Export.objects.filter(state__in=[Export.State.EXPIRED, Export.State.FAILED], cleaned=False):
        try:
            remove_objects(exports_store(export), f"{export.pk}/")
        except OSError as err:
            log.warning("could not remove the objects of export %s: %s", export.pk, sanitize_error(err))
            continue
        Export.objects.filter(pk=export.pk).update(cleaned=True)
        removed += 1
    return removed
