"""Export and import throughput, side by side with a raw copy of the same objects.

    .venv/bin/python -m benchmarks.bench_exports            # 10,000 files, 2 GiB (docs/benchmarks.md)
    .venv/bin/python -m benchmarks.bench_exports --quick    # 200 files, 20 MiB: a smoke run

One run, one embedded SeaweedFS. An instance gets the files (objects written
through the files store, index rows in bulk, in 100 folders), then:

- cozy export: ``run_export`` in a process of its own (Django, the Celery app and
  its task modules loaded as in a worker, without the worker's own loop): snapshot, every content read
  from S3 with its MD5 checked, streamed into zip parts (zipstream-ng) written
  through the store's multipart ``put()``, each part checked;
- raw copy into a zip: the same objects read by minio GETs, streamed into one
  zip by zipstream-ng (stored, not compressed, as the export stores these
  contents), written by minio's ``put_object`` (multipart, 8 MiB parts);
- cozy import: ``run_import`` in a process of its own, into an empty instance,
  from the export's manifest URL (parts read by ranged GETs through the store,
  each content written with its MD5 checked, the index in one transaction);
- raw unzip copy: the export's parts read by minio ranged GETs (1 MiB buffered)
  through zipfile, each entry written by minio ``put_object``.

The peak RSS rows are each process's VmHWM (the kernel's exact peak), with its
growth over the baseline after Django started.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from minio import Minio

from benchmarks.bench_deletion import django_setup
from s3util import make_client
from s3util.seaweedfs import SeaweedFS

MiB, GiB = 1024 * 1024, 1024**3
RATIO_TARGET = 0.8
RSS_TARGET_MIB = 100
PART = 8 * MiB  # minio's multipart part size in the raw copies (the store's default too)
HEADER = "| what | contents | MiB | seconds | MB/s | cozy vs raw | target | met |"


@dataclass(frozen=True)
class Sizes:
    files: int
    total: int  # bytes over all files


FULL = Sizes(files=10_000, total=2 * GiB)
QUICK = Sizes(files=200, total=20 * MiB)


@dataclass
class Row:
    name: str
    contents: int
    size: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.size / self.seconds / 1e6 if self.seconds else float("inf")


# -- the instance ---------------------------------------------------------------------
def populate(domain: str, sizes: Sizes) -> Any:
    """An instance with ``sizes.files`` files of about equal sizes (distinct bytes each)."""
    from django.contrib.auth import get_user_model

    from cozy.files.content import files_store
    from cozy.files.models import ROOT_ID, Node
    from cozy.instances.services import create_instance

    user = get_user_model().objects.get_or_create(username="bench")[0].username
    instance = create_instance(domain, user)
    root = Node.objects.get(instance=instance, doc_id=ROOT_ID)
    dirs = Node.objects.bulk_create([Node(instance=instance, type="directory", name=f"d{n:03}", parent=root)
                                     for n in range(100)])  # fmt: skip
    base = os.urandom(sizes.total // sizes.files + 64)
    store = files_store(instance)

    def make(n: int) -> Node:
        data = n.to_bytes(8, "big") + base[: sizes.total // sizes.files - 8]
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        node = Node(instance=instance, type="file", name=f"f{n:05}.bin", parent=dirs[n % 100], size=len(data),
                    md5=md5, mime="application/octet-stream", content_id=secrets.token_hex(16))  # fmt: skip
        store.put(f"{node.doc_id}/{node.content_id}", data, length=len(data), expected_md5=node.md5)
        return node

    with ThreadPoolExecutor(8) as pool:
        nodes = list(pool.map(make, range(sizes.files)))
    Node.objects.bulk_create(nodes, batch_size=500)
    return instance


# -- child processes: the measured cozy runs ------------------------------------------
def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(action: str, arg: str) -> None:
    """Run the export of instance ``arg`` or the import job ``arg``; print seconds and RSS.
    The process loads what a worker loads (Django, the Celery app and every task module, the
    worker's checks) before its baseline is read."""
    import django

    django.setup()
    from cozy.celery import app, worker_checks

    app.loader.import_default_modules()
    worker_checks()
    from django.utils import timezone

    from cozy.exports.imports import run_import
    from cozy.exports.models import Export
    from cozy.exports.runner import run_export

    base = _status_kib("VmRSS")
    started = time.perf_counter()
    if action == "export":
        export = Export.objects.create(instance_id=int(arg), expires_at=timezone.now() + timedelta(days=1))
        state, result = run_export(export.pk), export.pk
    else:
        state, result = run_import(int(arg)), arg
    seconds = time.perf_counter() - started
    print(json.dumps({"state": state, "seconds": seconds, "base_kib": base, "peak_kib": _status_kib("VmHWM"),
                      "id": result}))  # fmt: skip


def run_child(action: str, arg: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_exports", "--child", action, arg],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the {action} process failed: {done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["state"] != "done":
        raise RuntimeError(f"the {action} ended {result['state']}: {done.stderr[-2000:]}")
    return result


# -- the raw baselines ----------------------------------------------------------------
class IterReader(io.RawIOBase):
    """A readable file over an iterator of bytes (what minio's put_object reads)."""

    def __init__(self, chunks: Iterator[bytes]):
        self.chunks, self.left = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.left:
            self.left = next(self.chunks, b"")
            if not self.left:
                return 0
        n = min(len(buffer), len(self.left))
        buffer[:n], self.left = self.left[:n], self.left[n:]
        return n


class RangedObject(io.RawIOBase):
    """A seekable object read by one ranged GET per read (zipfile over it)."""

    def __init__(self, client: Minio, bucket: str, key: str):
        self.client, self.bucket, self.key, self.pos = client, bucket, key, 0
        self.size = client.stat_object(bucket, key).size or 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.pos = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence] + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.size - self.pos)
        if n <= 0:
            return 0
        resp = self.client.get_object(self.bucket, self.key, offset=self.pos, length=n)
        try:
            data = resp.read()
        finally:
            resp.close()
            resp.release_conn()
        buffer[: len(data)] = data
        self.pos += len(data)
        return len(data)


def _object_chunks(client: Minio, bucket: str, key: str) -> Iterator[bytes]:
    resp = client.get_object(bucket, key)
    try:
        yield from resp.stream(256 * 1024)
    finally:
        resp.close()
        resp.release_conn()


def raw_zip_copy(client: Minio, bucket: str, keys: list[tuple[str, int]]) -> float:
    from zipstream import ZipStream

    def zipped() -> Iterator[bytes]:
        zs = ZipStream(sized=False)
        for n, (key, size) in enumerate(keys):
            zs.add(_object_chunks(client, bucket, key), f"files/{n}", size=size)
            yield from zs.all_files()
        yield from zs.footer()

    started = time.perf_counter()
    client.put_object(bucket, "rawcopy/export.zip", io.BufferedReader(IterReader(zipped()), MiB), -1, part_size=PART)
    return time.perf_counter() - started


def raw_unzip_copy(client: Minio, bucket: str, parts: list[str]) -> float:
    started = time.perf_counter()
    for key in parts:
        with zipfile.ZipFile(io.BufferedReader(RangedObject(client, bucket, key), MiB)) as archive:
            for n, info in enumerate(archive.infolist()):
                with archive.open(info) as entry:
                    client.put_object(bucket, f"rawcopy/unzipped/{n}", entry, info.file_size, part_size=PART)
    return time.perf_counter() - started


# -- report ---------------------------------------------------------------------------
def table(export: Row, raw_export: Row, imported: Row, raw_import: Row, rss: list[tuple[str, dict]]) -> str:
    lines = [HEADER, "|---|---:|---:|---:|---:|---:|---|---|"]
    for row, raw in ((export, raw_export), (raw_export, None), (imported, raw_import), (raw_import, None)):
        ratio = f"{row.rate / raw.rate:.2f}x" if raw else ""
        met = ("yes" if row.rate / raw.rate >= RATIO_TARGET else "NO") if raw else ""
        target = f">= {RATIO_TARGET}x" if raw else ""
        lines.append(f"| {row.name} | {row.contents:,} | {row.size / MiB:,.0f} | {row.seconds:.1f} | {row.rate:.1f} "
                     f"| {ratio} | {target} | {met} |")  # fmt: skip
    for name, result in rss:
        peak, growth = result["peak_kib"] / 1024, (result["peak_kib"] - result["base_kib"]) / 1024
        met = "yes" if peak < RSS_TARGET_MIB else "NO"
        lines.append(f"| {name} worker peak RSS, MiB (growth {growth:.0f}) | | {peak:.0f} | | | "
                     f"| < {RSS_TARGET_MIB} MiB | {met} |")  # fmt: skip
    return "\n".join(lines)


def run(sizes: Sizes, tmp: Path) -> str:
    server = SeaweedFS(data_dir=tmp / "weed").start()
    try:
        config = server.config(bucket_prefix="bench" + secrets.token_hex(3))
        django_setup(tmp, config.to_url())
        from cozy.exports.models import Export, ImportJob
        from cozy.exports.services import token_for
        from cozy.files.models import Node
        from cozy.instances.services import create_instance, org_bucket

        print(f"writing {sizes.files:,} files, {sizes.total / MiB:,.0f} MiB...", file=sys.stderr, flush=True)
        source = populate("bench-export.localhost", sizes)
        client, bucket = make_client(config), org_bucket(source)
        files = list(Node.objects.filter(instance=source, type="file").values_list("doc_id", "content_id", "size"))
        keys = [(f"{source.key_prefix}files/{f}/{c}", s) for f, c, s in files]
        total = sum(s for _, s in keys)

        print("exporting: cozy, then raw...", file=sys.stderr, flush=True)
        exported = run_child("export", str(source.pk))
        export_row = Row("cozy export (zip parts through the store)", len(keys), total, exported["seconds"])
        raw_export = Row("raw copy into a zip (minio GET, zipstream-ng, minio PUT)", len(keys), total,
                         raw_zip_copy(client, bucket, keys))  # fmt: skip

        print("importing: cozy, then raw...", file=sys.stderr, flush=True)
        export = Export.objects.get(pk=exported["id"])
        target = create_instance("bench-import.localhost", "bench")
        url = f"http://{source.domain}/move/exports/{token_for(export)}"
        job = ImportJob.objects.create(instance=target, sources=[url], remote_any=True)
        imported = run_child("import", str(job.pk))
        import_row = Row("cozy import (ranged reads, MD5 checked, index)", len(keys), total, imported["seconds"])
        part_keys = [f"{source.key_prefix}exports/{export.part_name(p['n'])}" for p in export.parts]
        raw_import = Row("raw unzip copy (minio ranged GETs, zipfile, minio PUT)", len(keys), total,
                         raw_unzip_copy(client, bucket, part_keys))  # fmt: skip
        if Node.objects.filter(instance=target, type="file").count() != len(keys):
            raise RuntimeError("the import did not bring every file")
        return table(export_row, raw_export, import_row, raw_import, [("export", exported), ("import", imported)])
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 files, 20 MiB: a smoke run, not a measurement")
    parser.add_argument("--files", type=int, help="number of files (default 10,000)")
    parser.add_argument("--mib", type=int, help="total MiB over all files (default 2048)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    sizes = QUICK if args.quick else FULL
    sizes = Sizes(args.files or sizes.files, args.mib * MiB if args.mib else sizes.total)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="cozy-bench-exports-") as tmp:
        report = run(sizes, Path(tmp))
    print(f"{'quick smoke run' if args.quick else 'full run'}: SeaweedFS, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
          f"(a shared machine); {sizes.files:,} files, {sizes.total / MiB:,.0f} MiB")  # fmt: skip
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
