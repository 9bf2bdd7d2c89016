"""Requesting an export, and the signed token that names it in URLs."""

from __future__ import annotations

import time

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
    """The same token for the life of the export: its id and expiry, signed."""
    return signing.Signer(salt=SALT).sign_object({"e": export.pk, "x": int(export.expires_at.timestamp())})


def export_for_token(instance: Instance, token: str) -> Export:
    """The export a token names, on this instance, not expired."""
    try:
        data = signing.Signer(salt=SALT).unsign_object(token)
    except (signing.BadSignature, ValueError):
        raise BadToken("invalid or expired export token") from None
    if not isinstance(data, dict) or not isinstance(data.get("x"), int) or data["x"] <= time.time():
        raise BadToken("invalid or expired export token")
    export_id = data.get("e")
    export = Export.objects.filter(pk=str(export_id), instance=instance).first() if export_id else None
    if export is None or export.expired:
        raise BadToken("invalid or expired export token")
    return export
