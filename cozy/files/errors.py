"""API errors: each becomes a JSON:API ``errors`` document with its status."""

from __future__ import annotations

from django.http import JsonResponse

JSONAPI = "application/vnd.api+json"  # the media type of every document and error


class APIError(Exception):
    status = 400
    title = "Bad Request"

    def __init__(self, detail: str, *, status: int | None = None, title: str | None = None,
                 retry_after: int | None = None):
        super().__init__(detail)
        self.detail = detail
        # Sent with the error: when to try again (a 429 or a 503 past a cap).
        self.headers = {"Retry-After": str(retry_after)} if retry_after else {}
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title


class BadRequest(APIError):
    pass


class Unauthorized(APIError):
    status, title = 401, "Unauthorized"


class Forbidden(APIError):
    status, title = 403, "Forbidden"


class NotFound(APIError):
    status, title = 404, "Not Found"


class Conflict(APIError):
    status, title = 409, "Conflict"


class Gone(APIError):
    status, title = 410, "Gone"


class PreconditionFailed(APIError):
    status, title = 412, "Precondition Failed"


class TooLarge(APIError):
    status, title = 413, "Payload Too Large"


class RequestTimeout(APIError):
    status, title = 408, "Request Timeout"


class RangeNotSatisfiable(APIError):
    status, title = 416, "Range Not Satisfiable"


class TooManyRequests(APIError):
    status, title = 429, "Too Many Requests"


class Unavailable(APIError):
    status, title = 503, "Service Unavailable"


def error_document(status: int, title: str, detail: str) -> dict:
    return {"errors": [{"status": str(status), "title": title, "detail": detail}]}


def error_response(status: int, title: str, detail: str) -> JsonResponse:
    """The one way an error leaves the server, whoever makes it (our handlers, the framework's, the URL map)."""
    return JsonResponse(error_document(status, title, detail), status=status, content_type=JSONAPI)
