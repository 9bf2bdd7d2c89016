"""Error pages of Django's own (a path no route serves, a request it cannot read, a
permission it refuses, a crash outside the API): JSON:API for API clients."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.views import csrf, defaults

from cozy.files.errors import error_response


def _wants_html(request: HttpRequest) -> bool:
    return "text/html" in request.headers.get("Accept", "")


def _answer(request: HttpRequest, page: Callable[[], HttpResponse], status: int, title: str,
            detail: str) -> HttpResponse:
    """A browser gets Django's page; an API client (curl, scripts) a JSON:API error."""
    return page() if _wants_html(request) else error_response(status, title, detail)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _answer(request, lambda: defaults.page_not_found(request, exception), 404, "Not Found",
                   "no route serves this path")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _answer(request, lambda: defaults.bad_request(request, exception), 400, "Bad Request",
                   "the request cannot be read")


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _answer(request, lambda: defaults.permission_denied(request, exception), 403, "Forbidden",
                   "this request is not allowed")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CsrfViewMiddleware's refusal (a form post without its token)."""
    return _answer(request, lambda: csrf.csrf_failure(request, reason), 403, "Forbidden",
                   "CSRF check failed: send the X-CSRFToken header")


def server_error(request: HttpRequest) -> HttpResponse:
    return _answer(request, lambda: defaults.server_error(request), 500, "Internal Server Error",
                   "an unexpected error happened")
