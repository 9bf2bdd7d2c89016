"""Host header edge cases (the absolute form with a trailing dot), and the secret key file
that scripts/run writes (private)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
from django.test import Client

from tests.cozyclient import ROOT, make_instance

ROOT_DIR = Path(__file__).resolve().parent.parent


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("host", ["dot.localhost.", "DOT.localhost.", "dot.localhost.:8000"])
def test_fqdn_with_trailing_dot_reaches_the_instance(fs_url, s3_client, host):
    """Django accepts 'dot.localhost.' (it strips the dot to validate), but the middleware compares the
    Host verbatim: the instance's own absolute name answers 404 'no cozy instance at this address'."""
    _instance, token = make_instance("dot.localhost", "dot")
    resp = Client().get(f"/files/{ROOT}", HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert resp.status_code == 200, (resp.status_code, resp.content[:200])


def test_scripts_run_writes_the_secret_key_private(tmp_path):
    """The key that signs sessions is readable by its owner only, whatever the umask (as var/fs_url)."""
    line = next(x for x in (ROOT_DIR / "scripts" / "run").read_text().splitlines() if "secret_key\"" in x
                and "token_urlsafe" in x)
    line = re.sub(r"\.venv/bin/python", str(ROOT_DIR / ".venv" / "bin" / "python"), line)
    subprocess.run(["bash", "-c", f"umask 022; var={tmp_path}; {line}"], check=True, timeout=60)
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode & 0o077 == 0, oct(mode)
