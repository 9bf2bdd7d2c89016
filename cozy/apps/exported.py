"""The instance's installed apps and konnectors, as its export lists them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from cozy.apps.models import Installation
from cozy.instances.models import Instance


def public_source(source: str) -> str:
    """The source without credentials (a git or tarball URL may carry a user and a token)."""
    parts = urlsplit(source)
    if "@" not in parts.netloc:
        return source
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def installed_apps(instance: Instance) -> list[dict[str, Any]]:
    rows = Installation.objects.filter(instance=instance, state=Installation.State.READY).select_related("release")
    return [{"kind": row.kind, "slug": row.slug, "source": public_source(row.source),
             "version": row.release.version if row.release else ""}
            for row in rows.order_by("kind", "slug")]  # fmt: skip
