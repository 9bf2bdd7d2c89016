"""Bucket names: one per organization plus the system buckets.

Every name returned here is a valid S3 bucket name: 3-63 characters of
lowercase letters, digits and hyphens, no leading or trailing hyphen, never
shaped like an IP address, whatever org id comes in.
"""

from __future__ import annotations

import hashlib
import re

# Kinds of system bucket (``<bucket_prefix>-<kind>``). An org whose id is one of these gets a
# digest in its bucket name, so it never lands in a system bucket. The list only grows:
# removing a kind would rename the bucket of an org so named, hiding its data.
# "previews" and "exports" are no system buckets any more (that data stays in the org's
# bucket), but stay reserved for that reason.
RESERVED_KINDS = ("apps-web", "apps-konnectors", "assets", "previews", "exports")
DEFAULT_ORG = "default"
MAX_LEN = 63
_INVALID = re.compile(r"[^a-z0-9-]+")
_HYPHENS = re.compile(r"-{2,}")
_IP_LIKE = re.compile(r"^\d+(\.\d+){3}$")


def _clean(part: str) -> str:
    cleaned = _INVALID.sub("-", part.lower())
    return _HYPHENS.sub("-", cleaned).strip("-")


def _finish(name: str, source: str) -> str:
    """Fit to 63 chars; a digest of the raw input keeps distinct ids distinct."""
    if len(name) > MAX_LEN:
        digest = hashlib.sha256(source.encode()).hexdigest()[:10]
        name = name[: MAX_LEN - 11].rstrip("-") + "-" + digest
    if len(name) < 3 or _IP_LIKE.match(name):
        name = (name + "-bkt").strip("-")
    return name


def bucket_name(bucket_prefix: str, org_id: str | None) -> str:
    """The shared bucket of an organization: ``<bucket_prefix>-<org_id>``."""
    prefix = _clean(bucket_prefix) or "cozy"
    org = _clean(org_id or "") or DEFAULT_ORG
    raw = f"{prefix}-{org}"
    if org_id and (org != org_id.lower() or org in RESERVED_KINDS or org == DEFAULT_ORG):
        # Cleaning changed the id, it names a system bucket, or it is an org really named
        # "default": a digest keeps "a_b", "a.b", "apps-web" and "default" apart from each
        # other, from system buckets and from the bucket of instances with no org.
        raw = f"{raw}-{hashlib.sha256(org_id.encode()).hexdigest()[:8]}"
    return _finish(raw, f"{bucket_prefix}\x00{org_id}")


def system_bucket(bucket_prefix: str, kind: str) -> str:
    """The bucket of a system area; ``kind`` must be reserved first (see RESERVED_KINDS)."""
    if kind not in RESERVED_KINDS:
        raise ValueError(f"system bucket kind {kind!r} is not reserved in s3util.naming")
    return _finish(f"{_clean(bucket_prefix) or 'cozy'}-{kind}", f"{bucket_prefix}\x00{kind}")


_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def is_valid_bucket_name(name: str) -> bool:
    """S3's rules for a bucket someone names: 3-63 of a-z 0-9 . -, alphanumeric at both ends,
    no empty label, not an IP address."""
    return bool(_BUCKET.fullmatch(name)) and ".." not in name and not _IP_LIKE.match(name)
