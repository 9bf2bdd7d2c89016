"""The index page of a web app, rendered with the variables cozy-stack gives apps.

cozy apps' ``index.html`` files carry Go-template placeholders (``{{.Domain}}``,
``{{.Token}}``...): those names are substituted, HTML-escaped, and the file is
not parsed as a template of ours, so real cozy apps run unchanged. A
placeholder of no known name becomes empty.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

from django.utils import timezone
from django.utils.html import escape

from cozy.apps.models import Release
from cozy.instances.models import Instance, Token

PLACEHOLDER = re.compile(rb"\{\{\s*\.([A-Za-z][A-Za-z0-9]*)\s*\}\}")
TOKEN_LIFETIME = timedelta(days=1)


def app_token(instance: Instance, slug: str) -> str:
    """A token for the page's API calls; the app's tokens older than a day are dropped."""
    name = f"app:{slug}"
    Token.objects.filter(instance=instance, name=name, created_at__lt=timezone.now() - TOKEN_LIFETIME).delete()
    return Token.issue(instance, name=name)[1]


def variables(instance: Instance, release: Release, token: str, locale: str, scheme: str) -> dict[str, str]:
    manifest = release.manifest
    name = str(manifest.get("name") or release.slug)
    data = {
        "domain": instance.domain, "subdomain": "nested", "token": token, "locale": locale,
        "app": {"name": name, "slug": release.slug, "editor": str(manifest.get("editor", "")),
                "icon": str(manifest.get("icon", "")), "prefix": str(manifest.get("name_prefix", ""))},
        "flags": {}, "capabilities": {},
    }  # fmt: skip
    return {
        "Domain": instance.domain, "ContextName": instance.context, "Locale": locale, "Token": token,
        "AppSlug": release.slug, "AppName": name, "AppEditor": data["app"]["editor"],  # type: ignore[index]
        "AppNamePrefix": data["app"]["prefix"], "IconPath": data["app"]["icon"],  # type: ignore[index]
        "SubDomain": "nested", "CozyData": json.dumps(data, separators=(",", ":")), "Scheme": scheme,
    }  # fmt: skip


def render(template: bytes, values: dict[str, str]) -> bytes:
    def sub(match: re.Match[bytes]) -> bytes:
        return escape(values.get(match[1].decode(), "")).encode()

    return PLACEHOLDER.sub(sub, template)
