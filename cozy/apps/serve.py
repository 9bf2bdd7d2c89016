"""Serve a web app's files from its release (see cozy.apps.responses for the encodings).

The manifest's routes pick the file; a private route needs the owner's session;
the route's index is rendered (cozy.apps.index) and sent ``no-store``.
"""

from __future__ import annotations

import posixpath
import re
from functools import lru_cache
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.utils.translation import get_language_from_request

from cozy.apps import index
from cozy.apps.models import Release, ReleaseFile
from cozy.apps.reading import original_chunks
from cozy.apps.releases import store_of
from cozy.apps.responses import IMMUTABLE, Servable, plain_text, respond
from cozy.instances.models import Instance

MAX_INDEX = 4 * 1024 * 1024
HASHED = re.compile(r"(?:^|[.\-_])[0-9a-f]{10,}(?:[.\-_]|$)")


def _route(release: Release, path: str) -> tuple[dict, str]:
    """(the manifest route that serves ``/path``, the path below it); the longest route wins."""
    routes = release.manifest.get("routes") or {"/": {"folder": "/", "index": "index.html", "public": False}}
    url = "/" + path
    best = ""
    for prefix in routes:
        bare = prefix.rstrip("/")
        if (url == bare or url.startswith(bare + "/")) and len(bare) >= len(best.rstrip("/")):
            best = prefix
    if not best and "/" not in routes:
        return {}, ""
    route = routes.get(best) or routes.get("/") or {}
    rest = url[len(best.rstrip("/")):].lstrip("/")
    return (route if isinstance(route, dict) else {}), rest


def serve(request: HttpRequest, path: str) -> HttpResponseBase:
    instance: Instance = request.instance  # type: ignore[attr-defined]
    release_id: int | None = request.app_release_id  # type: ignore[attr-defined]  # read with the host
    if instance.state != Instance.State.READY:
        return plain_text(410, "this instance is being deleted")
    release = release_row(release_id) if release_id is not None else None
    if release is None:
        return plain_text(404, "no such app on this instance")
    # One release for the whole request: the old files or the new, never a mix.
    clean = _clean(path)
    if clean is None:
        return plain_text(404, "no such file in this app")
    route, rest = _route(release, clean)
    if not route:
        return plain_text(404, "no such route")
    if not route.get("public") and not _is_owner(request, instance):
        target = f"{request.scheme}://{instance.domain}{settings.LOGIN_URL}"
        return HttpResponseRedirect(f"{target}?next={quote(request.build_absolute_uri(), safe='')}")
    folder = str(route.get("folder", "/")).strip("/")
    is_index = rest == "" or rest == route.get("index")
    name = posixpath.normpath(posixpath.join(folder, rest or str(route.get("index", "index.html")))).lstrip("/")
    entry = release_file(release.uid, name) if not name.startswith("..") else None
    if entry is None:
        return plain_text(404, "no such file in this app")
    if is_index and entry.size <= MAX_INDEX:
        return _index(request, instance, release, entry, bool(route.get("public")))
    return file_response(request, release, entry)


@lru_cache(maxsize=1024)
def release_row(pk: int) -> Release | None:
    """A release, cached in the process: what serving reads of it (slug, uid, manifest) never
    changes; which release an app is at is read on every request (cozy.apps.hosts)."""
    return Release.objects.filter(pk=pk).first()


def _clean(path: str) -> str | None:
    """The path with ``.`` and ``..`` resolved, as a browser would, *before* a route is picked:
    ``/public/../secret.json`` is ``/secret.json``, served (or not) by the route of that
    (``..`` at the root stays there). None for a path with NUL or control characters."""
    if any(ord(c) < 32 or c == "\x7f" for c in path):
        return None
    clean = posixpath.normpath("/" + path).lstrip("/")
    return clean + "/" if path.endswith("/") and clean else clean


@lru_cache(maxsize=8192)
def release_file(uid: str, path: str) -> ReleaseFile | None:
    """A file row of a release, cached in the process: a release's files never change once it
    is ready, and a new release has a new uid (a collected one is never asked for again)."""
    return ReleaseFile.objects.select_related("release").filter(release__uid=uid, path=path).first()


def _is_owner(request: HttpRequest, instance: Instance) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.pk == instance.owner_id)


def _index(request: HttpRequest, instance: Instance, release: Release, entry: ReleaseFile,
           public: bool) -> HttpResponse:
    template = b"".join(original_chunks(release, entry))
    token = "" if public else index.app_token(instance, release.slug)
    locale = get_language_from_request(request) or settings.LANGUAGE_CODE
    values = index.variables(instance, release, token, locale, request.scheme or "http")
    response = HttpResponse(index.render(template, values), content_type=entry.mime)
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def file_response(request: HttpRequest, release: Release, entry: ReleaseFile) -> HttpResponseBase:
    name = release.name(entry.path)
    br = entry.encoding == "br"
    return respond(request, Servable(
        store=store_of(release.kind), size=entry.size, md5=entry.md5, mime=entry.mime,
        plain=None if br else name, br=name if br else None, br_size=entry.stored_size,
        cache=IMMUTABLE if HASHED.search(posixpath.basename(entry.path)) else "no-cache",
    ))  # fmt: skip
