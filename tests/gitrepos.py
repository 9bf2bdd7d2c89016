"""Git repositories of a release, served on loopback by ``git daemon`` (git://) and by
``git http-backend`` behind a small WSGI server (git+http://)."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

from s3util.seaweedfs import free_ports

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_NOSYSTEM": "1"}  # fmt: skip


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def make_repo(root: Path, name: str, files: dict[str, bytes], tag: str) -> Path:
    """A bare repository ``root/name`` whose tag ``tag`` holds ``files``."""
    work = root / f"{name}-work"
    work.mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=work)
    for path, data in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_bytes(data)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", tag, cwd=work)
    git("tag", tag, cwd=work)
    git("clone", "-q", "--bare", str(work), str(root / name), cwd=root)
    return root / name


def _wait_port(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the git server exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError("the git server did not start")


@contextmanager
def git_daemon(root: Path) -> Iterator[str]:
    """git://127.0.0.1:<port> serving the repositories under ``root``, with upload-archive."""
    (port,) = free_ports(1)
    proc = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", "--enable=upload-archive",
                             f"--base-path={root}", "--listen=127.0.0.1", f"--port={port}", str(root)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        _wait_port(port, proc)
        yield f"git://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _backend(root: Path, prefix: str):
    """A WSGI app running ``git http-backend`` for each request (as a CGI would)."""

    def app(environ, start_response):
        env = {k: v for k, v in environ.items() if isinstance(v, str) and k.isupper()}
        env.update(GIT_PROJECT_ROOT=str(root), GIT_HTTP_EXPORT_ALL="1",
                   PATH_INFO=environ["PATH_INFO"].removeprefix(prefix))  # fmt: skip
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        headers = [tuple(line.decode().split(": ", 1)) for line in head.split(b"\r\n") if line]
        status = next((v for k, v in headers if k.lower() == "status"), "200 OK")
        start_response(status, [(k, v) for k, v in headers if k.lower() != "status"])
        return [payload]

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextmanager
def git_http(root: Path) -> Iterator[str]:
    """http://127.0.0.1:<port>/git serving the repositories under ``root`` by git http-backend."""
    server = make_server("127.0.0.1", 0, _backend(root, "/git"), handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/git"
    finally:
        server.shutdown()
        server.server_close()
