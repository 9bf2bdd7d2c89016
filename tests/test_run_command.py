"""The README's run command: it starts everything on embedded defaults and stops it all on Ctrl-C."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil

from s3util.seaweedfs import free_ports

ROOT = Path(__file__).resolve().parent.parent


def test_scripts_run_serves_the_cloud_and_stops_cleanly(tmp_path):
    (port,) = free_ports(1)
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "COZY_FS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE")}
    env["COZY_VAR_DIR"] = str(tmp_path / "var")
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(ROOT / "scripts" / "run"), "--port", str(port)], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while "Press Ctrl-C" not in log.read_text(errors="replace"):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        text = log.read_text()
        assert f"cozy is running at http://127.0.0.1:{port}/" in text
        password = re.search(r"login: me\s+password: (\S+)", text)[1]
        base = f"http://127.0.0.1:{port}"
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(f"{base}/admin/login/", timeout=30).read().decode()
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
        form = urllib.parse.urlencode({"username": "me", "password": password, "csrfmiddlewaretoken": csrf,
                                       "next": "/admin/"}).encode()
        opener.open(urllib.request.Request(f"{base}/admin/login/", data=form, headers={"Referer": base}), timeout=30)
        token = next(c.value for c in jar if c.name == "csrftoken")
        upload = urllib.request.Request(
            f"{base}/files/io.cozy.files.root-dir?Type=file&Name=hello.txt", data=b"hello from the run command",
            headers={"X-CSRFToken": token, "Content-Type": "text/plain", "Referer": base}, method="POST")
        created = json.loads(opener.open(upload, timeout=30).read())
        file_id = created["data"]["id"]
        body = opener.open(f"{base}/files/download/{file_id}", timeout=30).read()
        assert body == b"hello from the run command"
        # manage.py in another terminal, with no settings in its environment, reaches the same cloud
        fs_url_file = tmp_path / "var" / "fs_url"
        assert fs_url_file.stat().st_mode & 0o777 == 0o600
        made = manage(env, "instances", "create", "second.localhost", "--owner", "me")
        assert made.returncode == 0, made.stderr
        bearer = manage(env, "instances", "token", f"127.0.0.1:{port}").stdout.strip().splitlines()[-1]
        listing = urllib.request.Request(f"{base}/files/io.cozy.files.root-dir",
                                         headers={"Authorization": f"Bearer {bearer}"})
        names = [c["attributes"]["name"] for c in json.loads(urllib.request.urlopen(listing, timeout=30).read())
                 ["included"]]
        assert "hello.txt" in names
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        code = proc.wait(60)
    assert code == 0, log.read_text()[-2000:]
    assert children_of(env["COZY_VAR_DIR"]) == []
    assert not (tmp_path / "var" / "fs_url").exists()


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def children_of(var_dir: str) -> list[str]:
    """Processes still running with this var dir: SeaweedFS, gunicorn, the worker."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if p.environ().get("COZY_VAR_DIR") == var_dir or var_dir in " ".join(p.info["cmdline"] or []):
                found.append(" ".join(p.info["cmdline"] or [])[:100])
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def test_scripts_run_on_a_taken_port_says_so_and_starts_nothing(tmp_path):
    """Another server already answers on the port: no URL printed, a hint about --port, exit non-zero."""
    (port,) = free_ports(1)
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "COZY_FS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE")}
    env["COZY_VAR_DIR"] = str(tmp_path / "var")
    other = subprocess.Popen([str(ROOT / ".venv" / "bin" / "python"), "-m", "http.server", str(port),
                              "--bind", "0.0.0.0"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:  # the other server answers HTTP, as the one that fooled the old readiness check did
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        run = subprocess.run([str(ROOT / "scripts" / "run"), "--port", str(port)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    finally:
        other.terminate()
        other.wait(10)
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert f"port {port} on 127.0.0.1 is already taken" in output
    assert "--port" in output
    assert "http://" not in output and "password" not in output
    assert not (tmp_path / "var" / "seaweedfs").exists()  # nothing was started
    assert children_of(env["COZY_VAR_DIR"]) == []
