"""Secrets of thumbnail URLs: ``<img>`` tags load them without an Authorization header.

A secret is a Django ``TimestampSigner`` token over the content id, salted with
the instance's db_prefix and the file id: it opens one content's thumbnails of one
file of one instance, for ``MAX_AGE`` seconds. Nothing is stored (no Redis, no row).
"""

from __future__ import annotations

from django.core import signing

MAX_AGE = 10 * 60
_SALT = "cozy.thumbnails"


class InvalidSecret(Exception):
    """Not a secret we made for this instance and file."""


class ExpiredSecret(InvalidSecret):
    """A genuine secret, past its age."""


def _signer(db_prefix: str, file_id: str) -> signing.TimestampSigner:
    # The ids go into the salt, not the value, so a secret cannot be moved to another file.
    return signing.TimestampSigner(salt=f"{_SALT}:{db_prefix}:{file_id}")


def make_secret(db_prefix: str, file_id: str, content_id: str) -> str:
    """A URL-safe secret (letters, digits, ``-``, ``_`` and ``:``)."""
    return _signer(db_prefix, file_id).sign(content_id)


def check_secret(secret: str, db_prefix: str, file_id: str, max_age: int = MAX_AGE) -> str:
    """The content id the secret was made for; ``InvalidSecret`` or ``ExpiredSecret`` otherwise."""
    try:
        return _signer(db_prefix, file_id).unsign(secret, max_age=max_age)
    except signing.SignatureExpired:
        raise ExpiredSecret("the thumbnail link has expired") from None
    except signing.BadSignature:
        raise InvalidSecret("the thumbnail link is not valid") from None
