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


def test_a_secret_is_one_mac_of_file_content_and_time():
    content_id, stamp, mac = make_secret(PREFIX, FILE, CONTENT).split(":")
    assert content_id == CONTENT and len(mac) == 22  # 128 bits, base64
    # the file id's length is in the message: moving a character between the ids breaks it
    assert check_secret(f"{CONTENT}:{stamp}:{mac}", PREFIX, FILE) == CONTENT
    shifted = make_secret(PREFIX, FILE[:-1], "f" + CONTENT)
    with pytest.raises(InvalidSecret):
        check_secret(shifted, PREFIX, FILE)
    for bad_stamp in ("-1", "", "\u00e9", stamp + "0"):  # not base 62, or not the time signed
        with pytest.raises(InvalidSecret):
            check_secret(f"{CONTENT}:{bad_stamp}:{mac}", PREFIX, FILE)


def test_a_secret_survives_a_key_rotation(settings):
    secret = make_secret(PREFIX, FILE, CONTENT)
    old = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "the-new-key", [old]
    assert check_secret(secret, PREFIX, FILE) == CONTENT
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(InvalidSecret):
        check_secret(secret, PREFIX, FILE)


def test_a_secret_of_the_former_signer_is_read_until_it_expires(monkeypatch):
    """Links handed out before the upgrade: still valid, then 410, which refreshes the Drive."""
    former = signing.TimestampSigner(salt=f"cozy.thumbnails:{PREFIX}:{FILE}").sign(CONTENT)
    assert check_secret(former, PREFIX, FILE) == CONTENT
    with pytest.raises(InvalidSecret):
        check_secret(former, PREFIX, "g" * 32)
    clock = signing.time.time()
    monkeypatch.setattr(signing.time, "time", lambda: clock + MAX_AGE + 5)
    with pytest.raises(ExpiredSecret):
        check_secret(former, PREFIX, FILE)
