"""URL pieces shared by the files routes: which path segments can be a document id,
and the JSON:API 404 for every other path under /files/ and /data/."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import register_converter

from cozy.files.errors import error_document

# Route words that sit where an id could: GET /files/metadata, POST /files/downloads...
RESERVED = ("metadata", "downloads", "archive", "trash", "upload", "recent", "search")


class DocIdConverter:
    """A document id: never a route word, never starting with ``_`` (CouchDB's own
    names, such as _find and _changes, start with one)."""

    regex = r"(?!_)(?!(?:" + "|".join(RESERVED) + r")(?![^/]))[^/]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(DocIdConverter, "docid")


def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any other path under /files/ or /data/: cozy clients parse a JSON:API error."""
    doc = error_document(404, "Not Found", "no such route")
    return JsonResponse(doc, status=404, content_type="application/vnd.api+json")
