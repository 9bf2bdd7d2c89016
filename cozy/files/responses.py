"""JSON:API responses and the error statuses declared for OpenAPI, for every files router."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse

from cozy.files.jsonapi import ErrorDocument

JSONAPI = "application/vnd.api+json"
ERRORS: dict[int, Any] = {c: ErrorDocument for c in (400, 401, 403, 404, 409, 410, 412, 413, 416, 503)}


def jsonapi(doc: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(doc, status=status, content_type=JSONAPI)
