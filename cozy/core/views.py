"""Error pages for paths no route serves."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.defaults import page_not_found

from cozy.core.middleware import json_error


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """A browser gets Django's page; an API client (curl, scripts, HEAD) a JSON:API error."""
    if request.method != "HEAD" and "text/html" in request.headers.get("Accept", ""):
        return page_not_found(request, exception)
    return json_error(404, "Not Found", "no route serves this path")
