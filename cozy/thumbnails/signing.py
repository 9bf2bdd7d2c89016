"""Secrets of thumbnail URLs: ``<img>`` tags load them without an Authorization header.

A secret is ``<content id>:<time>:<MAC>``: the MAC (HMAC-SHA256, 128 bits) covers the
file id, the content id and the time, under a key derived from ``SECRET_KEY`` and the
instance's db_prefix. So it opens one content's thumbnails of one file of one instance,
for ``MAX_AGE`` seconds. Nothing is stored (no Redis, no row).

A listing signs one secret per image: the instance's key is derived once (and kept),
then a secret is one HMAC call, where Django's ``TimestampSigner`` derived a key per
file. Secrets made by that signer before the change are still read until they expire.
"""

from __future__ import annotations

import base64
import hmac
import time
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes

MAX_AGE = 10 * 60
_SALT = "cozy.thumbnails"
_MAC_BYTES = 16
_MAC_CHARS = 22  # base64 of 16 bytes, unpadded; the signer's were 43


class InvalidSecret(Exception):
    """Not a secret we made for this instance and file."""


class ExpiredSecret(InvalidSecret):
    """A genuine secret, past its age."""


@lru_cache(maxsize=1024)
def _instance_key(secret_key: str | bytes, db_prefix: str) -> bytes:
    # Keyed by SECRET_KEY too: a new key (or a fallback) never reuses an old derivation.
    return hmac.digest(force_bytes(secret_key), f"{_SALT}:{db_prefix}".encode(), "sha256")


def _mac(secret_key: str | bytes, db_prefix: str, file_id: str, content_id: str, stamp: str) -> str:
    # The file id's length first: no other (file id, content id) pair gives the same message.
    message = f"{len(file_id)}:{file_id}:{content_id}:{stamp}".encode()
    digest = hmac.digest(_instance_key(secret_key, db_prefix), message, "sha256")[:_MAC_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@lru_cache(maxsize=2)
def _stamp(seconds: int) -> str:
    return signing.b62_encode(seconds)  # the same for every secret of a listing's second


def make_secret(db_prefix: str, file_id: str, content_id: str) -> str:
    """A URL-safe secret (letters, digits, ``-``, ``_`` and ``:``)."""
    stamp = _stamp(int(time.time()))
    return f"{content_id}:{stamp}:{_mac(settings.SECRET_KEY, db_prefix, file_id, content_id, stamp)}"


def check_secret(secret: str, db_prefix: str, file_id: str, max_age: int = MAX_AGE) -> str:
    """The content id the secret was made for; ``InvalidSecret`` or ``ExpiredSecret`` otherwise."""
    content_id, stamp, mac = _parts(secret)
    if len(mac) != _MAC_CHARS:  # made before this scheme, or garbage
        return _check_signer_secret(secret, db_prefix, file_id, max_age)
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    if not any(constant_time_compare(mac, _mac(key, db_prefix, file_id, content_id, stamp)) for key in keys):
        raise InvalidSecret("the thumbnail link is not valid")
    if time.time() - signing.b62_decode(stamp) > max_age:
        raise ExpiredSecret("the thumbnail link has expired")
    return content_id


def _parts(secret: str) -> tuple[str, str, str]:
    parts = secret.rsplit(":", 2)
    if len(parts) != 3 or not (parts[0] and parts[1].isascii() and parts[1].isalnum()):
        raise InvalidSecret("the thumbnail link is not valid")
    return parts[0], parts[1], parts[2]


def _check_signer_secret(secret: str, db_prefix: str, file_id: str, max_age: int) -> str:
    """A secret of the TimestampSigner this module used before (salt: prefix and file id): links
    handed out just before an upgrade keep working until they expire, and then answer 410,
    which makes the Drive fetch fresh ones (a 403 would leave its pictures missing)."""
    try:
        return signing.TimestampSigner(salt=f"{_SALT}:{db_prefix}:{file_id}").unsign(secret, max_age=max_age)
    except signing.SignatureExpired:
        raise ExpiredSecret("the thumbnail link has expired") from None
    except signing.BadSignature:
        raise InvalidSecret("the thumbnail link is not valid") from None
