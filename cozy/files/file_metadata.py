"""io.cozy.files.metadata: what a client attaches to a file (a photo's datetime and
GPS, a bill's amount...). ``POST /files/upload/metadata`` answers an id that a
later upload names with ``MetadataID``; the id is the metadata itself, signed,
so nothing is stored until the upload commits."""

from __future__ import annotations

import json
from typing import Any

from django.core import signing

from cozy.files.errors import BadRequest
from cozy.instances.models import Instance

SALT = "cozy.files.metadata-id"
ID_TTL = 600  # seconds: the upload follows at once
MAX_BYTES = 32 * 1024
DOCTYPE = "io.cozy.files.metadata"


def check_metadata(attributes: Any) -> dict[str, Any]:
    if not isinstance(attributes, dict):
        raise BadRequest("metadata attributes must be an object")
    if len(json.dumps(attributes)) > MAX_BYTES:
        raise BadRequest(f"metadata over {MAX_BYTES // 1024} KiB")
    return attributes


def make_id(instance: Instance, attributes: dict[str, Any]) -> str:
    return signing.dumps({"i": instance.pk, "m": check_metadata(attributes)}, salt=SALT, compress=True)


def read_id(instance: Instance, metadata_id: str) -> dict[str, Any]:
    try:
        data = signing.loads(metadata_id, salt=SALT, max_age=ID_TTL)
    except signing.BadSignature:
        raise BadRequest("MetadataID is invalid or expired") from None
    if not isinstance(data, dict) or data.get("i") != instance.pk:
        raise BadRequest("MetadataID is invalid or expired")
    return data["m"]
