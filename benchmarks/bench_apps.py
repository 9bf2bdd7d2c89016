"""Install and serving figures of cozy.apps, each next to a raw minio baseline in the same run.

    .venv/bin/python -m benchmarks.bench_apps            # 2,000 files, 50 MiB (docs/benchmarks.md)
    .venv/bin/python -m benchmarks.bench_apps --quick    # 200 files, 5 MiB, a smoke run

One embedded SeaweedFS and SQLite in a temporary directory. The release: three
quarters text files (JavaScript-like, compressible), a quarter random bytes
named .png (stored as is). Install: ``cozy.apps.installs.install`` from a
file:// tarball (stream, sha256, brotli, one PUT per file, the commit); the
baseline PUTs the same files, uncompressed, one after another with minio's
put_object. Serving: GETs of a 10 KiB app file through the Django stack
in-process (host routing, the installation and file rows, one S3 GET, the
brotli response), against minio get_object of the same object.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import sys
import tarfile
import tempfile
import time
from pathlib import Path

WORDS = [w.encode() for w in "function return const let var if else for while this new class import export from "
         "await async true false null undefined document window console log length push map filter".split()]


def release(path: Path, files: int, total: int) -> dict[str, bytes]:
    rnd = random.Random(16)
    each = total // files
    content: dict[str, bytes] = {}
    for i in range(files):
        if i % 4 == 3:
            data = rnd.randbytes(each)
            name = f"img/{i:05d}.png"
        else:
            words = []
            size = 0
            while size < each:
                word = rnd.choice(WORDS) + (b"%d" % rnd.randrange(1000)) + b" "
                words.append(word)
                size += len(word)
            data = b"".join(words)[:each]
            name = f"js/{i:05d}.js"
        content[name] = data
    content["app.js"] = content.pop("js/00000.js")[: 10 * 1024].ljust(10 * 1024, b" ")
    content["manifest.webapp"] = b'{"slug": "bench", "version": "1.0.0", "routes": {"/": {"folder": "/", ' \
                                 b'"index": "index.html", "public": true}}}'
    content["index.html"] = b"<html>{{.Domain}}</html>"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in content.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return content


def run(files: int, total: int, gets: int) -> list[str]:
    import django

    from s3util.seaweedfs import SeaweedFS

    with tempfile.TemporaryDirectory(prefix="bench-apps-") as tmp, SeaweedFS(data_dir=Path(tmp) / "s3") as s3:
        os.environ.update(COZY_VAR_DIR=str(Path(tmp) / "var"), COZY_FS_URL=s3.config().to_url(),
                          SECRET_KEY="bench-only", DJANGO_SETTINGS_MODULE="cozy.settings", LOG_LEVEL="WARNING")
        os.environ.pop("DATABASE_URL", None)
        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.test import Client

        from cozy.apps import installs
        from cozy.apps.models import Kind
        from cozy.apps.releases import store_of
        from cozy.instances.services import create_instance
        from cozy.storage.buckets import ensure_system_buckets
        from vfs_s3.connection import current_client

        call_command("migrate", verbosity=0)
        ensure_system_buckets()
        get_user_model().objects.create(username="bench")
        instance = create_instance("bench.localhost", "bench")
        tar = Path(tmp) / "bench.tar.gz"
        content = release(tar, files, total)
        size = sum(len(v) for v in content.values())
        client, raw_bucket = current_client(), "bench-raw"
        client.make_bucket(raw_bucket)

        started = time.perf_counter()
        for name, data in content.items():
            client.put_object(raw_bucket, name, io.BytesIO(data), len(data))
        raw_put = time.perf_counter() - started
        started = time.perf_counter()
        out = installs.install(instance, Kind.WEB, "bench", f"file://{tar}")
        install = time.perf_counter() - started
        assert out.release is not None
        stored = out.release.stored_size

        key = out.release.name("app.js")
        bucket = store_of(Kind.WEB).bucket_name
        started = time.perf_counter()
        for _ in range(gets):
            resp = client.get_object(bucket, key)
            resp.read()
            resp.close()
            resp.release_conn()
        raw_get = gets / (time.perf_counter() - started)
        web = Client()
        started = time.perf_counter()
        for _ in range(gets):
            resp = web.get("/app.js", HTTP_HOST="bench.bench.localhost", HTTP_ACCEPT_ENCODING="br")
            assert resp.status_code == 200
            b"".join(resp.streaming_content)
        served = gets / (time.perf_counter() - started)
        digest = hashlib.sha256(tar.read_bytes()).hexdigest()[:12]
        return [
            f"Release: {len(content):,} files, {size / 2**20:.1f} MiB ({stored / 2**20:.1f} MiB stored), "
            f"tarball {tar.stat().st_size / 2**20:.1f} MiB, sha256 {digest}...",
            "",
            "| measure | raw minio | cozy.apps | ratio |",
            "| --- | --- | --- | --- |",
            f"| install (s) | {raw_put:.2f} (PUTs only) | {install:.2f} | {install / raw_put:.2f}x |",
            f"| GET a 10 KiB file (req/s) | {raw_get:.0f} | {served:.0f} (br) | {served / raw_get:.2f}x |",
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    files, total, gets = (200, 5 * 2**20, 200) if args.quick else (2000, 50 * 2**20, 2000)
    for line in run(files, total, gets):
        print(line)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
