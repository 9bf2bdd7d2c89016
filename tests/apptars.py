"""Release tarballs for the apps tests, and a loopback HTTP server to fetch them from."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def manifest(slug: str, version: str, kind: str = "webapp", **extra) -> bytes:
    doc = {"slug": slug, "version": version, "name": slug.title(), **extra}
    if kind == "webapp":
        doc.setdefault("routes", {"/": {"folder": "/", "index": "index.html", "public": False}})
    return json.dumps(doc).encode()


def make_tar(path: Path, files: dict[str, bytes], *, extra: list[tarfile.TarInfo] | None = None) -> Path:
    """A .tar.gz of ``files`` (name -> bytes), plus raw entries (links, devices...)."""
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra or []:
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.size else None)
    return path


def webapp_tar(path: Path, slug: str = "drive", version: str = "1.0.0", **files: bytes) -> Path:
    content = {"manifest.webapp": manifest(slug, version), "index.html": b"<html>{{.Domain}}</html>",
               "app.js": b"console.log('" + b"x" * 4000 + b"');", "icon.png": b"\x89PNG" + b"\x00" * 500}
    content.update({k.replace("__", "/").replace("_DOT_", "."): v for k, v in files.items()})
    return make_tar(path, content)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextmanager
def serve_dir(root: Path) -> Iterator[str]:
    """http://127.0.0.1:<port> serving ``root``."""
    handler = partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:
        pass
