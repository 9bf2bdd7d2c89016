"""JSON:API responses and the error statuses declared for OpenAPI, for every files router."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import JsonResponse
from pydantic import WithJsonSchema

from cozy.files.errors import JSONAPI
from cozy.files.jsonapi import ErrorDocument
from cozy.files.routing import DOCID_SCHEMA

ERRORS: dict[int, Any] = {c: ErrorDocument for c in (400, 401, 403, 404, 409, 410, 412, 413, 416, 429, 503)}
# A route word where the id goes (/files/archive, /files/_find) reaches that route, which may not
# take this method: 405. Never for an id the schema allows.
ID_ERRORS: dict[int, Any] = {**ERRORS, 405: ErrorDocument}
DocId = Annotated[str, WithJsonSchema(DOCID_SCHEMA)]


def jsonapi(doc: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(doc, status=status, content_type=JSONAPI)
