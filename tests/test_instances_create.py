"""`manage.py instances create` checks its input: domains an instance can be reached at, quotas,
and a storage outage that leaves no half instance and no bucket name in the message.
"""

from __future__ import annotations

import dataclasses
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from cozy.files.models import Node
from cozy.instances.models import Instance, Token

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def owner(fs_url, s3_client):
    return get_user_model().objects.create(username="olga")


def _create(domain: str, *extra: str) -> None:
    call_command("instances", "create", domain, "--owner", "olga", *extra, stdout=StringIO())


@pytest.mark.parametrize("domain", ["not a domain", "", "a/b.localhost", "evil.localhost/../x", "a..b.localhost"])
def test_create_refuses_a_domain_that_is_no_host_name(owner, domain):
    with pytest.raises(CommandError):
        _create(domain)
    assert not Instance.objects.exists()


def test_trailing_dot_is_the_same_domain(owner):
    _create("same.localhost")
    with pytest.raises(CommandError):
        _create("same.localhost.")
    assert Instance.objects.count() == 1


def test_idn_domain_is_reachable_or_refused(owner):
    """'café.localhost' is stored as is; browsers send the punycode form, which never matches,
    and Django refuses the raw Unicode Host: the instance can never be reached."""
    try:
        _create("café.localhost")
    except CommandError:
        return  # refusing it is fine too
    instance = Instance.objects.get()
    _, raw = Token.issue(instance)
    resp = Client().get("/files/io.cozy.files.root-dir", HTTP_HOST="xn--caf-dma.localhost",
                        HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert resp.status_code == 200, (instance.domain, resp.status_code)


def _create_with_storage_down(s3_config, settings):
    dead = dataclasses.replace(s3_config, host="127.0.0.1", port=9)
    settings.COZY_FS_URL = dead.to_url()
    try:
        _create("half.localhost", "--org", "acme")
    except Exception as err:  # noqa: BLE001
        return err
    return None


def test_create_with_storage_down_leaves_no_half_instance(owner, s3_config, settings):
    """ensure_bucket runs after the row is committed: when it fails the row stays, without root or
    trash, and a second `create` (storage back) says 'already exists'."""
    _create_with_storage_down(s3_config, settings)
    rows = list(Instance.objects.filter(domain="half.localhost").values_list("domain", "state"))
    nodes = list(Node.objects.filter(instance__domain="half.localhost").values_list("doc_id", flat=True))
    assert rows == [], (rows, nodes)


def test_create_with_storage_down_is_a_clean_command_error(owner, s3_config, settings):
    """The failure escapes as urllib3's MaxRetryError (a traceback), whose text names the org bucket."""
    err = _create_with_storage_down(s3_config, settings)
    assert isinstance(err, CommandError), (type(err).__name__, str(err)[:200])


@pytest.mark.parametrize("quota", ["99999999999999999999999", "9223372036854775808"])
def test_create_with_a_huge_quota_is_a_command_error(owner, quota):
    """--quota is a plain int: a value over the BigIntegerField range escapes as OverflowError
    (SQLite) / DataError (PostgreSQL), a traceback, instead of a CommandError."""
    try:
        _create("big.localhost", "--quota", quota)
    except CommandError:
        return
    except Exception as err:  # noqa: BLE001
        pytest.fail(f"{type(err).__name__}: {str(err)[:120]}")
    # accepted: it must at least be stored as given
    assert str(Instance.objects.get(domain="big.localhost").quota_bytes) == quota
