"""Thumbnail secrets: bound to instance, file and content, and short-lived."""

from __future__ import annotations

import re

import pytest
from django.core import signing

from cozy.thumbnails.signing import MAX_AGE, ExpiredSecret, InvalidSecret, check_secret, make_secret

PREFIX, FILE, CONTENT = "i0123456789abcdef0123", "f" * 32, "c" * 32


def test_a_secret_gives_back_its_content_id():
    secret = make_secret(PREFIX, FILE, CONTENT)
    assert re.fullmatch(r"[A-Za-z0-9_:-]+", secret)  # safe in a URL path segment
    assert check_secret(secret, PREFIX, FILE) == CONTENT
    assert MAX_AGE == 600


@pytest.mark.parametrize(("prefix", "file_id"), [("i_other_instance", FILE), (PREFIX, "g" * 32)])
def test_a_secret_opens_nothing_else(prefix, file_id):
    with pytest.raises(InvalidSecret):
        check_secret(make_secret(PREFIX, FILE, CONTENT), prefix, file_id)


def test_a_tampered_secret_is_refused():
    secret = make_secret(PREFIX, FILE, CONTENT)
    other = make_secret(PREFIX, FILE, "d" * 32)
    # The content id swapped into a genuine secret, or garbage.
    for bad in (secret.replace(CONTENT, "d" * 32), other.split(":")[0] + secret[32:], "x", "", secret + "x"):
        with pytest.raises(InvalidSecret):
            check_secret(bad, PREFIX, FILE)


def test_another_signing_salt_is_refused():
    foreign = signing.TimestampSigner(salt="another.purpose").sign(CONTENT)
    with pytest.raises(InvalidSecret):
        check_secret(foreign, PREFIX, FILE)


def test_a_secret_expires(monkeypatch):
    secret = make_secret(PREFIX, FILE, CONTENT)
    clock = signing.time.time()
    monkeypatch.setattr(signing.time, "time", lambda: clock + MAX_AGE - 5)
    assert check_secret(secret, PREFIX, FILE) == CONTENT
    monkeypatch.setattr(signing.time, "time", lambda: clock + MAX_AGE + 5)
    with pytest.raises(ExpiredSecret, match="expired"):
        check_secret(secret, PREFIX, FILE)


def test_a_secret_depends_on_the_secret_key(settings):
    secret = make_secret(PREFIX, FILE, CONTENT)
    settings.SECRET_KEY = "another-key-entirely"
    with pytest.raises(InvalidSecret):
        check_secret(secret, PREFIX, FILE)
