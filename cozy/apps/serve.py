"""Serve a web app's files from its release, in constant memory whatever their size.

Stored brotli passes through to a client that accepts it (``Content-Encoding:
br``); any other client gets the bytes decompressed on the fly, with the
original length. ``Vary: Accept-Encoding`` always; the ETag is the file's MD5
(with ``-br`` for the brotli representation); ``Range`` on identity responses.
The route's index is rendered (cozy.apps.index) and sent ``no-store``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect, StreamingHttpResponse
from django.utils.translation import get_language_from_request

from cozy.apps import index
from cozy.apps.encoding import accepts_br
from cozy.apps.models import Installation, Kind, Release, ReleaseFile
from cozy.apps.reading import original_chunks, stored_chunks
from cozy.files.download import parse_range
from cozy.files.errors import RangeNotSatisfiable
from cozy.instances.models import Instance

MAX_INDEX = 4 * 1024 * 1024
HASHED = re.compile(r"(?:^|[.\-_])[0-9a-f]{10,}(?:[.\-_]|$)")
IMMUTABLE = "public, max-age=31536000, immutable"


def _plain(status: int, text: str) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


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
    slug: str = request.app_slug  # type: ignore[attr-defined]
    if instance.state != Instance.State.READY:
        return _plain(410, "this instance is being deleted")
    row = (Installation.objects.select_related("release")
           .filter(instance=instance, kind=Kind.WEB, slug=slug, state=Installation.State.READY).first())  # fmt: skip
    if row is None or row.release is None:
        return _plain(404, "no such app on this instance")
    release = row.release  # one release for the whole request: the old files or the new, never a mix
    route, rest = _route(release, path)
    if not route:
        return _plain(404, "no such route")
    if not route.get("public") and not _is_owner(request, instance):
        target = f"{request.scheme}://{instance.domain}{settings.LOGIN_URL}"
        return HttpResponseRedirect(f"{target}?next={quote(request.build_absolute_uri(), safe='')}")
    folder = str(route.get("folder", "/")).strip("/")
    is_index = rest == "" or rest == route.get("index")
    name = posixpath.normpath(posixpath.join(folder, rest or str(route.get("index", "index.html")))).lstrip("/")
    entry = ReleaseFile.objects.filter(release=release, path=name).first() if not name.startswith("..") else None
    if entry is None:
        return _plain(404, "no such file in this app")
    if is_index and entry.size <= MAX_INDEX:
        return _index(request, instance, release, entry, bool(route.get("public")))
    return file_response(request, release, entry)


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


def _matches(header: str, tags: set[str]) -> bool:
    sent = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in sent or bool(sent & tags)


def file_response(request: HttpRequest, release: Release, entry: ReleaseFile) -> HttpResponseBase:
    as_br = entry.encoding == "br" and accepts_br(request.headers.get("Accept-Encoding"))
    etag = f'"{entry.md5}-br"' if as_br else f'"{entry.md5}"'
    cache = IMMUTABLE if HASHED.search(posixpath.basename(entry.path)) else "no-cache"
    inm = request.headers.get("If-None-Match")
    if inm and _matches(inm, {etag}):
        return _headers(HttpResponse(status=304), etag, cache)
    try:
        return _file_response(request, release, entry, as_br, etag, cache)
    except FileNotFoundError:
        return _plain(404, "this file is missing from the store (run manage.py apps fsck)")


def _file_response(request: HttpRequest, release: Release, entry: ReleaseFile, as_br: bool, etag: str,
                   cache: str) -> HttpResponseBase:
    if as_br:
        response: HttpResponseBase = StreamingHttpResponse(_primed(stored_chunks(release, entry)),
                                                           content_type=entry.mime)
        response["Content-Encoding"] = "br"
        response["Content-Length"] = str(entry.stored_size)
        return _headers(response, etag, cache)
    range_header = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() != etag:
        range_header = None
    try:
        byte_range = parse_range(range_header, entry.size)
    except RangeNotSatisfiable:
        refused = _plain(416, "the range is outside the file")
        refused["Content-Range"] = f"bytes */{entry.size}"
        return refused
    start, end = byte_range or (0, entry.size - 1)
    if entry.encoding == "br":
        chunks = _slice(original_chunks(release, entry), start, end) if byte_range else original_chunks(release, entry)
    else:
        chunks = stored_chunks(release, entry, start, end if byte_range else None)
    response = StreamingHttpResponse(_primed(chunks), status=206 if byte_range else 200, content_type=entry.mime)
    response["Content-Length"] = str(end - start + 1 if entry.size else 0)
    if byte_range:
        response["Content-Range"] = f"bytes {start}-{end}/{entry.size}"
    response["Accept-Ranges"] = "bytes"
    return _headers(response, etag, cache)


def _headers(response: HttpResponseBase, etag: str, cache: str) -> HttpResponseBase:
    response["ETag"] = etag
    response["Vary"] = "Accept-Encoding"
    response["Cache-Control"] = cache
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _slice(chunks: Iterator[bytes], start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start..end`` (inclusive) of a stream."""
    pos = 0
    for chunk in chunks:
        lo, hi = max(start - pos, 0), min(end + 1 - pos, len(chunk))
        pos += len(chunk)
        if lo < hi:
            yield chunk[lo:hi]
        if pos > end:
            return




def _primed(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Fetch the first chunk now: a missing object becomes a 404, not a broken 200."""
    first = next(chunks, b"")

    def rest() -> Iterator[bytes]:
        if first:
            yield first
        yield from chunks

    return rest()
