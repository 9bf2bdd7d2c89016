"""Management commands and start-up behaviour, run as a user would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from cozy.files.models import ROOT_ID, TRASH_ID, Node
from cozy.instances.models import Instance, Token, hash_token
from cozy.instances.services import org_bucket
from cozy.storage import areas
from s3util.naming import bucket_name, system_bucket
from tests.cozyclient import make_instance

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "SECRET_KEY": "x", **(env or {})}, timeout=120)


@pytest.mark.parametrize("url", ["s3://h?secret_key=TopSecret", "http://h?access_key=a&secret_key=TopSecret",
                                 "s3://h?access_key=a&secret_key=TopSecret&use_ssl=perhaps"])
def test_malformed_fs_url_stops_startup_with_one_line(url):
    result = manage("check", env={"COZY_FS_URL": url})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cozy: COZY_FS_URL: storage URL:")
    assert "Traceback" not in result.stderr and "TopSecret" not in result.stderr


def test_missing_secret_key_is_one_line():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True,
                            env={**env, "DJANGO_SETTINGS_MODULE": "cozy.settings"}, timeout=60)
    assert result.returncode == 2 and result.stderr.strip().startswith("cozy: SECRET_KEY is not set")


@pytest.mark.django_db(transaction=True)
def test_instances_command(fs_url, s3_client):
    get_user_model().objects.create(username="dora")
    out = StringIO()
    call_command("instances", "create", "Dora.localhost", "--owner", "dora", "--org", "acme", "--quota", "1000",
                 stdout=out)
    instance = Instance.objects.get(domain="dora.localhost")
    assert (instance.org_id, instance.quota_bytes, instance.state) == ("acme", 1000, "ready")
    assert s3_client.bucket_exists(org_bucket(instance))
    assert set(Node.objects.filter(instance=instance).values_list("doc_id", flat=True)) == {ROOT_ID, TRASH_ID}
    with pytest.raises(CommandError, match="already exists"):
        call_command("instances", "create", "dora.localhost", "--owner", "dora")
    with pytest.raises(CommandError, match="no user"):
        call_command("instances", "create", "x.localhost", "--owner", "nobody")
    out = StringIO()
    call_command("instances", "list", stdout=out)
    assert "dora.localhost\tready\towner=dora\torg=acme" in out.getvalue()
    out = StringIO()
    call_command("instances", "show", "dora.localhost", stdout=out)
    shown = json.loads(out.getvalue())
    assert shown["db_prefix"] == instance.db_prefix and shown["quota_bytes"] == 1000
    out = StringIO()
    call_command("instances", "token", "dora.localhost", stdout=out)
    raw = out.getvalue().strip()
    assert Token.objects.get(key_hash=hash_token(raw)).instance == instance
    call_command("instances", "revoke", "dora.localhost", stdout=StringIO())
    assert Token.objects.get(key_hash=hash_token(raw)).revoked_at is not None
    with pytest.raises(CommandError, match="no instance"):
        call_command("instances", "show", "nope.localhost")


@pytest.mark.django_db(transaction=True)
def test_setup_storage_creates_every_bucket(fs_url, s3_client, s3_config):
    """The bucket of every registered system area (cozy.apps registers "assets"), and of every organization."""
    assert areas.get("assets").system
    make_instance("setup.localhost", "sam", org="setup-org")
    out = StringIO()
    call_command("setup_storage", stdout=out)
    call_command("setup_storage", stdout=out)  # idempotent
    assert s3_client.bucket_exists(system_bucket(s3_config.bucket_prefix, "assets"))
    assert s3_client.bucket_exists(bucket_name(s3_config.bucket_prefix, "setup-org"))
