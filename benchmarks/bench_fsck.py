"""fsck time and memory on a bulk-loaded instance, next to a bare listing plus a bare index scan.

    .venv/bin/python -m benchmarks.bench_fsck            # 10,000 then 100,000 files (docs/benchmarks.md)
    .venv/bin/python -m benchmarks.bench_fsck --quick    # 300 then 1,000 files, a smoke run

One embedded SeaweedFS and one database (SQLite in a temporary directory, or
DATABASE_URL) serve both sides. The bulk loader inserts index rows with
bulk_create and PUTs one small object per file from a thread pool. Each
measurement runs in a child process, which reports its own time (Django start-up
excluded) and its peak RSS (VmHWM); the baseline and fsck alternate, and the
median of the repeats is shown.

Baseline: ListObjectsV2 of ``<db_prefix>/`` (every page, nothing else done) plus
one pass over the index rows of files and versions (``values_list().iterator()``).
fsck: the whole check of the instance (merge join, MD5 by ETag, thumbnails, tree checks).
A last row checks the largest instance again as 4 key-range shards in local threads
(what ``fsck --shards 4`` does; with ``--queue`` the shards go to Celery workers instead).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parent.parent
DOMAIN = "bench.localhost"
FILES_PER_DIR = 1000
PUT_THREADS = 32
RATIO_TARGET = 1.3
RSS_TARGET = 0.20
SHARDS = 4
HEADER = "| measure | files | bare list + index scan | fsck | ratio | target | met |"


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...]
    repeat: int


FULL = Plan((10_000, 100_000), 3)
QUICK = Plan((300, 1_000), 1)


# -- child side: one measurement, in a fresh process --------------------------------
def _peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(kind: str) -> None:
    import django

    django.setup()
    from cozy.files.models import Node, Version
    from cozy.fsck.runner import Options, check_instance
    from cozy.instances.models import Instance
    from cozy.instances.services import org_bucket
    from vfs_s3.connection import current_client

    instance = Instance.objects.get(domain=DOMAIN)
    started = time.perf_counter()
    if kind in ("fsck", "sharded"):
        report = check_instance(instance, Options(shards=SHARDS if kind == "sharded" else 1))
        count, anomalies = report.objects, len(report.anomalies)
    else:
        listed = current_client().list_objects(org_bucket(instance), prefix=instance.key_prefix, recursive=True)
        count = sum(1 for _ in listed)
        files = Node.objects.filter(instance=instance, type=Node.Type.FILE)
        rows = files.values_list("doc_id", "content_id", "size", "md5").iterator(5000)
        versions = Version.objects.filter(file__instance=instance)
        versions = versions.values_list("file__doc_id", "content_id", "size", "md5")
        count += sum(1 for _ in rows) + sum(1 for _ in versions.iterator(5000))
        anomalies = 0
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rss_kib": _peak_rss_kib(), "count": count, "anomalies": anomalies}))


# -- parent side --------------------------------------------------------------------
def setup_env(tmp: Path, fs_url: str, database_url: str | None) -> None:
    # Its own database: SQLite in the temporary directory unless --database-url names one (it must be empty).
    os.environ.pop("DATABASE_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.update(
        COZY_VAR_DIR=str(tmp / "var"), COZY_FS_URL=fs_url, SECRET_KEY="bench-only-secret-key",
        DJANGO_SETTINGS_MODULE="cozy.settings", LOG_LEVEL="WARNING",
    )  # fmt: skip


def measure(kind: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "benchmarks.bench_fsck", "--child", kind], cwd=ROOT_DIR,
                         capture_output=True, text=True, timeout=3600)  # fmt: skip
    if out.returncode:
        raise SystemExit(f"the {kind} child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


class Loader:
    """Bulk loader: index rows by bulk_create, objects by parallel PUTs (tiny, distinct, MD5 in metadata)."""

    def __init__(self):
        from django.contrib.auth import get_user_model

        from cozy.files.models import ROOT_ID, Node
        from cozy.instances.services import create_instance, org_bucket
        from vfs_s3.connection import current_client

        get_user_model().objects.get_or_create(username="bench")
        self.instance = create_instance(DOMAIN, "bench")
        self.root = Node.objects.get(instance=self.instance, doc_id=ROOT_ID)
        self.client, self.bucket = current_client(), org_bucket(self.instance)
        self.count = 0
        self.dir = None

    def _put(self, item: tuple[str, bytes, str]) -> None:
        key, data, md5 = item
        self.client.put_object(self.bucket, key, io.BytesIO(data), len(data), metadata={"md5": md5})

    def grow_to(self, total: int) -> float:
        """Add files until the instance has ``total``; returns the seconds spent on the PUTs."""
        from cozy.files.models import Node

        rows, puts = [], []
        for i in range(self.count, total):
            if i % FILES_PER_DIR == 0:
                self.dir = Node.objects.create(instance=self.instance, type="directory", name=f"d{i // 1000:04d}",
                                               parent=self.root)  # fmt: skip
            data = f"file {i}\n".encode()
            md5 = hashlib.md5(data).hexdigest()  # noqa: S324 - the content checksum S3 and cozy use
            node = Node(instance=self.instance, type="file", name=f"f{i:07d}.txt", parent=self.dir, size=len(data),
                        md5=md5, content_id=uuid.uuid4().hex, mime="text/plain")  # fmt: skip
            rows.append(node)
            puts.append((f"{self.instance.key_prefix}files/{node.doc_id}/{node.content_id}", data, node.md5))
        Node.objects.bulk_create(rows, batch_size=2000)
        started = time.perf_counter()
        with ThreadPoolExecutor(PUT_THREADS) as pool:
            for _ in pool.map(self._put, puts, chunksize=64):
                pass
        self.count = total
        return time.perf_counter() - started


def median_pair(repeat: int, kind: str = "fsck") -> tuple[dict, dict]:
    base, fsck = [], []
    for _ in range(repeat):
        base.append(measure("baseline"))
        fsck.append(measure(kind))

    def med(runs: list[dict]) -> dict:
        return {"seconds": statistics.median(r["seconds"] for r in runs), "rss_kib": max(r["rss_kib"] for r in runs),
                "count": runs[0]["count"], "anomalies": max(r["anomalies"] for r in runs)}  # fmt: skip

    return med(base), med(fsck)


def run(plan: Plan, database_url: str | None) -> list[str]:
    import django

    from s3util.seaweedfs import SeaweedFS

    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-fsck-") as tmp, SeaweedFS(data_dir=Path(tmp) / "s3") as s3:
        setup_env(Path(tmp), s3.config().to_url(), database_url)
        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        loader = Loader()
        rss: dict[int, float] = {}
        for size in plan.sizes:
            put_seconds = loader.grow_to(size)
            print(f"loaded {size:,} files (PUTs of this step: {put_seconds:.1f} s)", file=sys.stderr, flush=True)
            base, fsck = median_pair(plan.repeat)
            if fsck["anomalies"]:
                raise SystemExit(f"fsck found {fsck['anomalies']} anomalies on a clean instance")
            ratio = fsck["seconds"] / base["seconds"]
            met = "yes" if ratio <= RATIO_TARGET else "no"
            rows.append(f"| time | {size:,} | {base['seconds']:.2f} s | {fsck['seconds']:.2f} s | {ratio:.2f}x "
                        f"| <= {RATIO_TARGET}x | {met} |")  # fmt: skip
            rss[size] = fsck["rss_kib"] / 1024
            rows.append(f"| peak RSS | {size:,} | {base['rss_kib'] / 1024:.0f} MiB | {rss[size]:.0f} MiB "
                        f"| {rss[size] * 1024 / base['rss_kib']:.2f}x | | |")  # fmt: skip
        small, large = plan.sizes[0], plan.sizes[-1]
        base, sharded = median_pair(plan.repeat, "sharded")
        rows.append(f"| time, {SHARDS} shards in threads | {large:,} | {base['seconds']:.2f} s "
                    f"| {sharded['seconds']:.2f} s | {sharded['seconds'] / base['seconds']:.2f}x | | |")  # fmt: skip
        growth = rss[large] / rss[small] - 1
        met = "yes" if abs(growth) <= RSS_TARGET else "no"
        rows.append(f"| fsck RSS {large:,} vs {small:,} | | {rss[small]:.0f} MiB | {rss[large]:.0f} MiB "
                    f"| {growth:+.0%} | within {RSS_TARGET:.0%} | {met} |")  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat (a smoke run)")
    parser.add_argument("--database-url", help="an empty database to use instead of a temporary SQLite one")
    parser.add_argument("--child", choices=["fsck", "sharded", "baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    started = time.perf_counter()
    rows = run(QUICK if args.quick else FULL, args.database_url)
    db = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    print(f"fsck benchmark ({platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"SeaweedFS, {db}, {time.perf_counter() - started:.0f} s in all)")  # fmt: skip
    print(HEADER)
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
