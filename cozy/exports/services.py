"""Requesting an export, and the signed token that names it in URLs."""

from __future__ import annotations

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from cozy.exports import config
from cozy.exports.models import Export
from cozy.instances.models import Instance

SALT = "cozy.exports.manifest"


class ExportRunning(Exception):
    """Another export of this instance is queued or running."""


class BadToken(Exception):
    """A token that is malformed, forged, expired, or names no live export."""


def request_export(instance: Instance) -> Export:
    """A new export, queued once its row is committed; ExportRunning if one is under way."""
    from cozy.exports.tasks import export_instance

    try:
        with transaction.atomic():
            export = Export.objects.create(instance=instance, expires_at=timezone.now() + config.lifetime())
    except IntegrityError:
        raise ExportRunning("another export of this instance is under way") from None
    transaction.on_commit(lambda: export_instance.delay(export.pk))
    return export


def token_for(export: Export) -> str:
    return signing.dumps({"e": export.pk}, salt=SALT, compress=False)


def export_for_token(instance: Instance, token: str) -> Export:
    """The export a token names, on this instance, not expired."""
    try:
        data = signing.loads(token, salt=SALT, max_age=config.lifetime())
    except signing.BadSignature:  # SignatureExpired included
        raise BadToken("invalid or expired export token") from None
    export_id = data.get("e") if isinstance(data, dict) else None
    export = Export.objects.filter(pk=str(export_id), instance=instance).first() if export_id else None
    if export is None or export.expired:
        raise BadToken("invalid or expired export token")
    return export
