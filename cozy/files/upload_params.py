"""What a create or overwrite request says besides its body: cozy-stack's
``CreatedAt``/``UpdatedAt`` (RFC 3339) and the ``Date`` header (kept by sync
clients that preserve modification times), ``Tags``, ``Executable``, ``MetadataID``."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from django.http import HttpRequest
from django.utils.dateparse import parse_datetime

from cozy.files import file_metadata
from cozy.files.errors import BadRequest
from cozy.instances.models import Instance


def _rfc3339(name: str, raw: str) -> datetime:
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise BadRequest(f"{name} must be an RFC 3339 date with a time zone")
    return value.astimezone(UTC)


def _http_date(raw: str) -> datetime:
    try:
        value = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        value = None
    if value is None or value.tzinfo is None:
        raise BadRequest("the Date header must be an HTTP date")
    return value.astimezone(UTC)


def dates(request: HttpRequest) -> dict[str, datetime]:
    """created_at / updated_at that the client gave, if any."""
    found: dict[str, datetime] = {}
    if raw := request.headers.get("Date"):
        found["created_at"] = found["updated_at"] = _http_date(raw)
    if raw := request.GET.get("CreatedAt"):
        found["created_at"] = _rfc3339("CreatedAt", raw)
        found.setdefault("updated_at", found["created_at"])
    if raw := request.GET.get("UpdatedAt"):
        found["updated_at"] = _rfc3339("UpdatedAt", raw)
    if "created_at" in found and found["created_at"] > found["updated_at"]:
        found["created_at"] = found["updated_at"]
    return found


def metadata(request: HttpRequest, instance: Instance) -> dict[str, Any]:
    """{"metadata": ...} when the request names a MetadataID (see file_metadata.py)."""
    raw = request.GET.get("MetadataID")
    return {"metadata": file_metadata.read_id(instance, raw)} if raw else {}


def overwrite_fields(request: HttpRequest, instance: Instance) -> dict[str, Any]:
    found = dates(request)
    return {**({"updated_at": found["updated_at"]} if "updated_at" in found else {}), **metadata(request, instance)}


def creation_fields(request: HttpRequest, instance: Instance, *, is_file: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {**dates(request), **metadata(request, instance)}
    if tags := request.GET.get("Tags"):
        fields["tags"] = list(dict.fromkeys(t.strip() for t in tags.split(",") if t.strip()))
    if is_file and request.GET.get("Executable", "").lower() == "true":
        fields["executable"] = True
    return fields
