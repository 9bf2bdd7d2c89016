"""``/assets/<name>`` on an instance's domain: its context's asset, else the built-in file."""

from __future__ import annotations

from django.contrib.staticfiles import finders
from django.http import FileResponse, HttpRequest, HttpResponseBase

from cozy.apps import assets
from cozy.apps.responses import Servable, plain_text, respond


def serve_asset(request: HttpRequest, name: str) -> HttpResponseBase:
    instance = getattr(request, "instance", None)
    row = assets.find(instance.context, name) if instance is not None else None
    if row is None:
        return _builtin(name)
    return respond(request, Servable(store=assets.store(), size=row.size, md5=row.md5, mime=row.mime,
                                     plain=row.key, br=row.br_key, br_size=row.br_size))  # fmt: skip


def _builtin(name: str) -> HttpResponseBase:
    if ".." in name.split("/") or "\\" in name or "\x00" in name:
        return plain_text(404, "no such asset")
    found = finders.find(f"assets/{name}")
    if not found or isinstance(found, list):
        return plain_text(404, "no such asset")
    return FileResponse(open(found, "rb"))
