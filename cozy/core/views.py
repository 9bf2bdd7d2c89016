"""Error pages for paths no route serves."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found

from cozy.files.errors import error_document


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """A browser gets Django's page; an API client (curl, scripts, HEAD) a JSON:API error."""
    if request.method != "HEAD" and "text/html" in request.headers.get("Accept", ""):
        return page_not_found(request, exception)
    doc = error_document(404, "Not Found", "no route serves this path")
    return JsonResponse(doc, status=404, content_type="application/vnd.api+json")
