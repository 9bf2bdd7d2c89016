"""The per-process memory of instance, token and throttle lookups (cozy/instances/lookup_cache.py).

A change made elsewhere (another process, or a queryset update that sends no signal) takes
effect within COZY_LOOKUP_CACHE_TTL; one saved through the ORM here, at once.
"""

from __future__ import annotations

import time

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from cozy.apps.hosts import resolve
from cozy.deletion.index import delete_instance_row
from cozy.instances import lookup_cache
from cozy.instances.models import Instance, Token
from tests.cozyclient import ROOT, Cozy, make_instance

pytestmark = pytest.mark.django_db(transaction=True)

TTL = 1.0


@pytest.fixture(autouse=True)
def _fresh_cache():
    for cache in (lookup_cache.instances, lookup_cache.tokens, lookup_cache.unrefused):
        cache.clear()
    with override_settings(COZY_LOOKUP_CACHE_TTL=TTL):
        yield


def _cozy() -> Cozy:
    instance, token = make_instance("carol.localhost", "carol")
    return Cozy(instance, token, Client())


def _status_within(cozy: Cozy, want: int, bound: float) -> float:
    """Seconds until GET of the root answers ``want``; fails past ``bound``."""
    start = time.monotonic()
    while True:
        status = cozy.get(f"/files/{ROOT}").status_code
        if status == want:
            return time.monotonic() - start
        assert time.monotonic() - start < bound, f"still {status} after {bound} s"
        time.sleep(0.05)


def test_a_token_revoked_elsewhere_is_refused_within_the_bound(fs_url, s3_client):
    cozy = _cozy()
    assert cozy.get(f"/files/{ROOT}").status_code == 200  # remembered now
    Token.objects.filter(instance=cozy.instance).update(revoked_at=timezone.now())  # as `instances revoke`: no signal
    assert cozy.get(f"/files/{ROOT}").status_code == 200  # within the bound, the remembered answer
    _status_within(cozy, 401, TTL + 2)


def test_a_token_deleted_here_is_refused_at_once(fs_url, s3_client):
    cozy = _cozy()
    assert cozy.get(f"/files/{ROOT}").status_code == 200
    Token.objects.filter(instance=cozy.instance).get().delete()
    assert cozy.get(f"/files/{ROOT}").status_code == 401


def test_an_instance_deleted_here_is_not_served(fs_url, s3_client):
    cozy = _cozy()
    assert cozy.get(f"/files/{ROOT}").status_code == 200
    assert delete_instance_row(cozy.instance.db_prefix)  # the deletion job's last step
    assert cozy.get(f"/files/{ROOT}").status_code == 404


def test_an_instance_turned_deleting_elsewhere_is_gone_within_the_bound(fs_url, s3_client):
    cozy = _cozy()
    assert cozy.get(f"/files/{ROOT}").status_code == 200
    Instance.objects.filter(pk=cozy.instance.pk).update(state=Instance.State.DELETING)  # no signal
    _status_within(cozy, 410, TTL + 2)
    assert cozy.upload("late.txt", b"x").status_code == 410


def test_an_instance_turned_deleting_here_is_gone_at_once(fs_url, s3_client):
    cozy = _cozy()
    assert cozy.get(f"/files/{ROOT}").status_code == 200
    instance = Instance.objects.get(pk=cozy.instance.pk)
    instance.state = Instance.State.DELETING
    instance.save(update_fields=["state"])
    assert cozy.get(f"/files/{ROOT}").status_code == 410


def test_requests_do_not_share_an_instance_object(fs_url, s3_client):
    cozy = _cozy()
    assert cozy.get(f"/files/{ROOT}").status_code == 200
    first = lookup_cache.instances.get("carol.localhost")
    assert first is not None
    one, two = resolve("carol.localhost").instance, resolve("carol.localhost").instance
    assert one is not None and two is not None and one is not two
    assert one.pk == two.pk == cozy.instance.pk and one.db_prefix == cozy.instance.db_prefix


def test_a_zero_ttl_remembers_nothing(fs_url, s3_client):
    cozy = _cozy()
    with override_settings(COZY_LOOKUP_CACHE_TTL=0):
        assert cozy.get(f"/files/{ROOT}").status_code == 200
        assert lookup_cache.instances.get("carol.localhost") is None
        Token.objects.filter(instance=cozy.instance).update(revoked_at=timezone.now())
        assert cozy.get(f"/files/{ROOT}").status_code == 401
