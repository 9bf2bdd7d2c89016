"""The npm package cozy-stack-client, unchanged, driven from Node against the server
under gunicorn: tests/node/filecollection.test.js, through FileCollection's methods."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from cozy.instances.models import Token
from cozy.instances.services import create_instance

pytestmark = pytest.mark.django_db(transaction=True)
NODE_DIR = Path(__file__).resolve().parent / "node"


def ensure_npm_packages() -> None:
    """Install the pinned packages (package-lock.json) when node_modules is missing."""
    if (NODE_DIR / "node_modules" / "cozy-stack-client").is_dir():
        return
    subprocess.run(["npm", "ci", "--legacy-peer-deps", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True,
                   timeout=600)


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="needs node and npm")
def test_cozy_stack_client_file_collection(http_server):
    ensure_npm_packages()
    from django.contrib.auth import get_user_model

    get_user_model().objects.create(username="node")
    host = f"127.0.0.1:{http_server.port}"  # Node's fetch sends the URL's host: the instance is found by it
    instance = create_instance(host, "node")
    _, token = Token.issue(instance)
    env = dict(os.environ, COZY_URL=f"http://{host}", COZY_TOKEN=token)
    proc = subprocess.run(["node", "--test", "--test-reporter=spec", "filecollection.test.js"], cwd=NODE_DIR,
                          env=env, capture_output=True, text=True, timeout=300)
    print(proc.stdout[-20000:])
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-4000:]
