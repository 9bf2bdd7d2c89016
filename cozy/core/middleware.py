"""Request edges shared by every route: query strings that are not UTF-8, and HEAD."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

from django.core.handlers.wsgi import get_bytes_from_wsgi
from django.http import HttpRequest, HttpResponse, JsonResponse


def json_error(status: int, title: str, detail: str) -> JsonResponse:
    """A JSON:API error, as the files API sends them (this app sits below it: no import from there)."""
    doc = {"errors": [{"status": str(status), "title": title, "detail": detail}]}
    return JsonResponse(doc, status=status, content_type="application/vnd.api+json")


def query_is_utf8(request: HttpRequest) -> bool:
    """True when every percent-decoded name and value is strict UTF-8 (no overlong forms, no surrogates).

    Django decodes them with U+FFFD replacements, which would store a name the client never sent.
    """
    environ = getattr(request, "environ", None) or request.META
    raw = get_bytes_from_wsgi(environ, "QUERY_STRING", "")
    try:
        parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return False
    return True


class StrictQueryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not query_is_utf8(request):
            return json_error(400, "Bad Request", "the query string is not valid UTF-8 once percent-decoded")
        return self.get_response(request)


class HeadWithoutBodyMiddleware:
    """A HEAD response carries the headers only (RFC 9110 9.3.2); gunicorn warns about a body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method != "HEAD":
            return response
        if response.streaming:
            response.streaming_content = iter(())  # type: ignore[attr-defined]  # a StreamingHttpResponse: nothing is read
        else:
            response.headers.setdefault("Content-Length", str(len(response.content)))  # what GET would send
            response.content = b""
        return response
