"""Run the whole cloud on one machine: S3, migrations, first login, web and worker.

Used by ``manage.py runcloud`` (and so by ``scripts/run``). Every piece that
the environment names (COZY_FS_URL, DATABASE_URL, CELERY_BROKER_URL) is used
as it is; what is missing is started here as a child process.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from cozy.core.web import web_command
from s3util.seaweedfs import SeaweedFS

FIRST_USER = "me"


def start_embedded_s3(var_dir: Path) -> SeaweedFS:
    """SeaweedFS with credentials kept in var/ so a restart finds the same data."""
    creds_path = var_dir / "s3-credentials.json"
    if creds_path.exists():
        creds = json.loads(creds_path.read_text())
    else:
        creds = {"access_key": "cozy" + secrets.token_hex(6), "secret_key": secrets.token_urlsafe(24)}
        write_private(creds_path, json.dumps(creds))
    server = SeaweedFS(data_dir=var_dir / "seaweedfs", **creds)
    return server.start()


def write_private(path: Path, text: str) -> None:
    """A file only this user can read: it holds credentials."""
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text)


def ensure_first_login(var_dir: Path, domain: str) -> tuple[str, str]:
    """A first user and instance; the password is kept in var/ to be shown again."""
    from cozy.instances.models import Instance
    from cozy.instances.services import create_instance

    login_path = var_dir / "first-login.json"
    User = get_user_model()
    if login_path.exists() and User.objects.filter(username=FIRST_USER).exists():
        password = json.loads(login_path.read_text())["password"]
    else:
        password = secrets.token_urlsafe(12)
        user, _ = User.objects.get_or_create(username=FIRST_USER, defaults={"is_staff": True, "is_superuser": True})
        user.set_password(password)
        user.save()
        write_private(login_path, json.dumps({"username": FIRST_USER, "password": password}))
    if not Instance.objects.filter(domain=domain).exists():
        create_instance(domain, FIRST_USER)
    return FIRST_USER, password


def children(env: dict[str, str], bind: str) -> list[subprocess.Popen]:
    worker = [sys.executable, "-m", "celery", "-A", "cozy", "worker", "--loglevel", "INFO", "--concurrency", "2"]
    return [subprocess.Popen(cmd, env=env, start_new_session=True) for cmd in (web_command(bind), worker)]


def stop_all(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            # The leader only: gunicorn's master and Celery's main process stop their own
            # children; signalling the whole group made Celery log its pool's deaths as errors.
            proc.terminate()
    deadline = time.monotonic() + 15
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):  # whatever is left of its group, leader included
            os.killpg(proc.pid, signal.SIGKILL)


def run(host: str = "127.0.0.1", port: int = 8000, stdout=sys.stdout) -> int:
    var_dir = Path(settings.VAR_DIR)
    var_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    s3 = None
    fs_url_file = var_dir / "fs_url"  # for manage.py commands run beside this one
    if not os.environ.get("COZY_FS_URL"):  # not settings': they may hold a stale fs_url_file
        stdout.write("starting SeaweedFS (embedded S3)...\n")
        s3 = start_embedded_s3(var_dir)
        settings.COZY_FS_URL = env["COZY_FS_URL"] = s3.config().to_url()
        write_private(fs_url_file, settings.COZY_FS_URL)
    try:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        call_command("setup_storage", verbosity=0)
        domain = f"{host}:{port}"
        user, password = ensure_first_login(var_dir, domain)
        procs = children(env, f"{host}:{port}")
        if not _wait_listening(host, port, procs):
            stop_all(procs)
            sys.stderr.write("cozy: the web server did not start; see the messages above\n")
            return 1
        stdout.write(
            f"\ncozy is running at http://{domain}/\n"
            f"  login: {user}   password: {password}\n"
            f"  admin: http://{domain}/admin/\n"
            "Press Ctrl-C to stop.\n\n"
        )
        stdout.flush()
        return _supervise(procs)
    finally:
        if s3 is not None:
            fs_url_file.unlink(missing_ok=True)
            s3.stop()


def _wait_listening(host: str, port: int, procs: list[subprocess.Popen], timeout: float = 60) -> bool:
    """Print the URL only once it answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            socket.create_connection((host, port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def _supervise(procs: list[subprocess.Popen]) -> int:
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stopping:
            if any(p.poll() is not None for p in procs):
                sys.stderr.write("cozy: a child process exited; stopping everything\n")
                return 1
            time.sleep(0.5)
        return 0
    finally:
        stop_all(procs)
