"""Guessing limits: failed logins and bearer tokens slow down, then get 429 with Retry-After."""

from __future__ import annotations

import logging
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.test import Client

from cozy.instances import throttle
from tests.cozyclient import ROOT, make_instance
from tests.httpserver import start_gunicorn, stop

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery staple"
HOST = "throttle.localhost"
POLICY = {"free": 2, "limit": 4, "window": 60, "max_delay": 0.4}


@pytest.fixture
def limits(settings):
    settings.COZY_THROTTLE = {"login": dict(POLICY), "token": dict(POLICY)}
    caches["throttle"].clear()
    yield settings.COZY_THROTTLE
    caches["throttle"].clear()


@pytest.fixture
def owner(fs_url, s3_client, limits):
    instance, token = make_instance(HOST, "tess")
    user = get_user_model().objects.get(username="tess")
    user.set_password(PASSWORD)
    user.save()
    return instance, token


def attempt(path: str, password: str, *, address: str = "10.0.0.1", username: str = "tess"):
    start = time.monotonic()
    resp = Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password}, HTTP_HOST=HOST)
    return resp, time.monotonic() - start


@pytest.mark.parametrize("path", ["/auth/login", "/admin/login/"])
def test_failed_logins_slow_down_then_get_429_even_with_the_right_password(owner, path, caplog):
    with caplog.at_level(logging.WARNING, logger="cozy.security"):
        answers = [attempt(path, f"guess-{i}") for i in range(4)]
        assert [r.status_code for r, _ in answers] == [200, 200, 200, 200]  # the form again, "wrong password"
        assert [throttle.delay("login", n) for n in (1, 2, 3, 4)] == [0, 0, 0.25, 0.4]  # free, then doubling
        assert answers[2][1] >= 0.25 and answers[3][1] >= 0.4  # and the answers did wait
        locked, _ = attempt(path, PASSWORD)
        assert locked.status_code == 429 and 50 <= int(locked["Retry-After"]) <= 61
        assert b"Too many failed logins" in locked.content
        assert "_auth_user_id" not in locked.client.session  # not logged in
        # the same account from another address is locked too, and another account from this address
        assert attempt(path, PASSWORD, address="10.9.9.9")[0].status_code == 429
        assert attempt(path, "x", username="someone-else")[0].status_code == 429
    text = caplog.text
    assert "guess-" not in text and PASSWORD not in text
    assert "failed login for account 'tess' from 10.0.0.1 (4 in a row)" in text
    assert "login refused for account 'tess'" in text


def test_a_successful_login_resets_the_counts(owner, caplog):
    for i in range(3):
        attempt("/auth/login", f"guess-{i}")
    ok, _ = attempt("/auth/login", PASSWORD)
    assert ok.status_code == 302 and ok["Location"] == "/drive/"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="cozy.security"):
        answers = [attempt("/auth/login", f"again-{i}") for i in range(4)]
    assert "(1 in a row)" in caplog.records[0].getMessage()
    assert [r.status_code for r, _ in answers] == [200] * 4  # counted from zero again, not locked at once


def test_random_bearer_tokens_get_429_for_that_address_only(owner, caplog):
    _, token = owner
    path = f"/files/{ROOT}"

    def get(tok: str, address: str = "10.0.0.7"):
        return Client(REMOTE_ADDR=address).get(path, HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Bearer {tok}")

    with caplog.at_level(logging.WARNING, logger="cozy.security"):
        assert [get(f"cozy_guess{i}").status_code for i in range(4)] == [401] * 4
        locked = get(token)  # a good token from a guessing address waits too
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert locked["Content-Type"] == "application/vnd.api+json"
    assert locked.json()["errors"][0]["status"] == "429"
    assert get(token, address="10.0.0.8").status_code == 200
    assert "cozy_guess" not in caplog.text and "invalid bearer token from 10.0.0.7 (4 in a row)" in caplog.text


def test_counts_are_shared_by_gunicorn_workers(owner, shared_fs_url, tmp_path, limits):
    """Two worker processes, one count: the throttle's cache is the database, not a worker's memory."""
    env = {"COZY_TEST_THROTTLE": "1", "COZY_TOKEN_FREE_FAILURES": "2", "COZY_TOKEN_MAX_FAILURES": "6"}
    server = start_gunicorn(shared_fs_url, tmp_path / "gunicorn.log", workers=2, extra_env=env)
    try:
        statuses = []
        for i in range(8):  # a new connection each time: the two workers take turns
            status, headers, _ = server.request("GET", f"/files/{ROOT}", host=HOST,
                                                headers={"Authorization": f"Bearer cozy_guess{i}"})
            statuses.append(status)
        assert statuses == [401] * 6 + [429] * 2, statuses
        assert int(headers["Retry-After"]) > 0
    finally:
        stop(server)
    pids = {line.split("[")[2].split("]")[0] for line in (tmp_path / "gunicorn.log").read_text().splitlines()
            if "Booting worker" in line}
    assert len(pids) == 2
