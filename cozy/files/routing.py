"""URL pieces shared by the files routes: which path segments can be a document id,
and the JSON:API 404 for every other path under /files/ and /data/."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import register_converter
from django.views.decorators.csrf import csrf_exempt

from cozy.files.errors import error_response

# Route words that sit where an id could: GET /files/metadata, POST /files/downloads...
# "download" and "revert" too: /files/download/versions is a download, not the versions of "download".
RESERVED = ("metadata", "downloads", "download", "revert", "archive", "trash", "upload", "recent", "search")


class DocIdConverter:
    """A document id: never a route word, never starting with ``_`` (CouchDB's own
    names, such as _find and _changes, start with one)."""

    regex = r"(?!_)(?!(?:" + "|".join(RESERVED) + r")(?![^/]))[^/\x00]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(DocIdConverter, "docid")
# The same rule in the OpenAPI document (ECMA-262 regexes have these lookaheads too).
DOCID_SCHEMA = {"type": "string", "pattern": f"^{DocIdConverter.regex}$"}


@csrf_exempt  # a POST to no route is a 404, not a CSRF failure: nothing is done
def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any other path under /files/ or /data/: cozy clients parse a JSON:API error."""
    return error_response(404, "Not Found", "no such route")
