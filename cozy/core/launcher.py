"""Run the whole cloud on one machine: S3, migrations, first login, web and worker.

Used by ``manage.py runcloud`` (and so by ``scripts/run``). Every piece that
the environment names (COZY_FS_URL, DATABASE_URL, CELERY_BROKER_URL) is used
as it is; what is missing is started here as a child process.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
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


class PortTaken(Exception):
    """The web server's address cannot be listened on (taken, or not ours to take)."""


def bind_listener(host: str, port: int) -> socket.socket:
    """The web server's socket, bound here and handed to gunicorn (``fd://``).

    Whatever then answers on this port is our own gunicorn: a program already
    listening there makes the bind fail instead of passing the readiness check.
    """
    try:
        family, type_, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as err:
        raise PortTaken(f"cannot use host {host!r}: {err.strerror}") from None
    sock = socket.socket(family, type_, proto)
    # SO_REUSEADDR as gunicorn sets it (a restart may bind over TIME_WAIT); never SO_REUSEPORT,
    # which would let two servers share the port.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
        sock.listen(2048)
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise PortTaken(f"port {port} on {host} is already taken by another program") from None
        raise PortTaken(f"cannot listen on {host}:{port}: {err.strerror}") from None
    sock.set_inheritable(True)
    return sock


def children(env: dict[str, str], listener: socket.socket) -> list[subprocess.Popen]:
    worker = [sys.executable, "-m", "celery", "-A", "cozy", "worker", "--loglevel", "INFO", "--concurrency", "2"]
    fd = listener.fileno()
    web = subprocess.Popen(web_command(f"fd://{fd}"), env=env, start_new_session=True, pass_fds=(fd,))
    return [web, subprocess.Popen(worker, env=env, start_new_session=True)]


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
    try:
        listener = bind_listener(host, port)  # first: a taken port stops us before anything starts
    except PortTaken as err:
        sys.stderr.write(
            f"cozy: {err}.\n"
            f"Choose another port with --port, e.g. ./scripts/run --port {port + 1 if port < 65535 else 8001}\n"
        )
        return 2
    with listener:
        return _run(listener, host, port, stdout)


def _run(listener: socket.socket, host: str, port: int, stdout) -> int:
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
        procs = children(env, listener)
        listener.close()  # gunicorn holds it now
        if not _wait_answering(host, port, domain, procs):
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


def _wait_answering(host: str, port: int, domain: str, procs: list[subprocess.Popen], timeout: float = 60) -> bool:
    """Print the URL only once a gunicorn worker answers HTTP on the socket we bound."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        conn = http.client.HTTPConnection(host, port, timeout=5)
        try:
            conn.request("HEAD", "/", headers={"Host": domain})
            conn.getresponse()
            return True
        except (OSError, http.client.HTTPException):
            time.sleep(0.2)
        finally:
            conn.close()
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
