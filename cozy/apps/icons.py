"""``GET /apps/{slug}/icon`` (and konnectors): the icon the manifest names, from the release.

Served like the app's files (brotli or identity, ETag from the MD5, 304), with a
Content-Security-Policy that keeps an SVG icon from running scripts on the
instance's domain. An app whose manifest names no icon, or a file the release
lacks, gets a built-in generic icon instead.
"""

from __future__ import annotations

import hashlib
import posixpath

from django.http import HttpRequest, HttpResponse, HttpResponseBase

from cozy.apps.models import Release, ReleaseFile
from cozy.apps.responses import etag_matches
from cozy.apps.serve import file_response, release_file

ICON_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
FALLBACK = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
            b'<rect x="2" y="2" width="28" height="28" rx="6" fill="#5d6165"/>'
            b'<rect x="9" y="9" width="14" height="14" rx="2" fill="#fff"/></svg>')  # fmt: skip
FALLBACK_ETAG = f'"{hashlib.md5(FALLBACK, usedforsecurity=False).hexdigest()}"'


def icon_entry(release: Release) -> ReleaseFile | None:
    """The release's file that the manifest's ``icon`` names, if it has one."""
    icon = release.manifest.get("icon")
    if not isinstance(icon, str) or not icon.strip() or "\x00" in icon or "\\" in icon:
        return None
    name = posixpath.normpath(icon.strip().lstrip("/"))
    if name.startswith("..") or name == ".":
        return None
    return release_file(release.uid, name)


def icon_response(request: HttpRequest, release: Release | None) -> HttpResponseBase:
    entry = icon_entry(release) if release is not None else None
    if release is not None and entry is not None:
        response = file_response(request, release, entry)
    else:
        response = _fallback(request)
    response["Content-Security-Policy"] = ICON_CSP
    return response


def _fallback(request: HttpRequest) -> HttpResponse:
    inm = request.headers.get("If-None-Match")
    response = (HttpResponse(status=304) if inm and etag_matches(inm, FALLBACK_ETAG)
                else HttpResponse(FALLBACK, content_type="image/svg+xml"))  # fmt: skip
    response["ETag"] = FALLBACK_ETAG
    response["Cache-Control"] = "no-cache"
    response["X-Content-Type-Options"] = "nosniff"
    return response
