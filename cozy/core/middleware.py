"""Request edges shared by every route: query strings that are not UTF-8, and HEAD."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

from django.core.handlers.wsgi import get_bytes_from_wsgi
from django.http import HttpRequest, HttpResponse

from cozy.files.errors import error_response


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
            return error_response(400, "Bad Request", "the query string is not valid UTF-8 once percent-decoded")
        return self.get_response(request)


class FrameworkErrorsMiddleware:
    """A 405 that Django or django-ninja make themselves (a method no route declares: ninja
    answers it in plain text, before any of our handlers) leaves as JSON:API, like every error."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 405 or "json" in response.get("Content-Type", ""):
            return response
        # ninja joins a set: sorted, the header is the same on every answer
        allow = ", ".join(sorted({m.strip().upper() for m in response.get("Allow", "").split(",") if m.strip()}))
        detail = f"this method is not allowed on this path (allowed: {allow})" if allow else "method not allowed"
        replaced = error_response(405, "Method Not Allowed", detail)
        if allow:
            replaced["Allow"] = allow
        return replaced


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
