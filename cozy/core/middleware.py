"""Request edges shared by every route: URL text that is not UTF-8 or holds a NUL, and HEAD."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

from django.core.handlers.wsgi import get_bytes_from_wsgi
from django.http import HttpRequest, HttpResponse

from cozy.files.errors import error_response
from cozy.files.text import BadText, check_string


def url_text_problem(request: HttpRequest) -> str | None:
    """What is wrong with the text of the URL (its path, and the query's percent-decoded names and
    values), or None. Django decodes bad UTF-8 with U+FFFD replacements, which would store a name
    the client never sent; a NUL is no text PostgreSQL stores (cozy.files.parser has the rule)."""
    environ = getattr(request, "environ", None) or request.META
    raw = get_bytes_from_wsgi(environ, "QUERY_STRING", "")
    try:
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return "the query string is not valid UTF-8 once percent-decoded"
    try:
        for text in (request.path_info, *(t for pair in pairs for t in pair)):
            check_string(text)
    except BadText as exc:
        return str(exc)
    return None


class StrictTextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if problem := url_text_problem(request):
            return error_response(400, "Bad Request", problem)
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
        methods = {m.strip().upper() for m in response.get("Allow", "").split(",") if m.strip()}
        allow = ", ".join(sorted(methods | ({"HEAD"} if "GET" in methods else set())))
        detail = f"this method is not allowed on this path (allowed: {allow})" if allow else "method not allowed"
        replaced = error_response(405, "Method Not Allowed", detail)
        if allow:
            replaced["Allow"] = allow
        return replaced


class HeadAsGetMiddleware:
    """HEAD is GET without the body (RFC 9110 9.3.2), on every GET route: ninja dispatches by
    method and would answer 405, so the request goes on as a GET, and its response leaves with
    GET's status and headers only. A view that can spare work for HEAD (a download need not read
    the store) reads ``META["REQUEST_METHOD"]``; gunicorn warns about a body sent on HEAD."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "HEAD":
            return self.get_response(request)
        request.method = "GET"  # request.META["REQUEST_METHOD"] stays HEAD
        response = self.get_response(request)
        if response.streaming:
            response.streaming_content = iter(())  # type: ignore[attr-defined]  # a StreamingHttpResponse: nothing is read
        else:
            response.headers.setdefault("Content-Length", str(len(response.content)))  # what GET would send
            response.content = b""
        return response
