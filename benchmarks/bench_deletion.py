"""Instance deletion speed: the cozy job next to raw batched DeleteObjects and to one DELETE per key.

    .venv/bin/python -m benchmarks.bench_deletion            # full run (figures in docs/benchmarks.md)
    .venv/bin/python -m benchmarks.bench_deletion --quick    # small counts, a smoke run

One run, one embedded SeaweedFS, one bucket. Three sets of tiny objects are
written with a pool of PUTs, then deleted:

- cozy job: an instance whose objects sit under ``<db_prefix>/files/<id>/<content>``;
  the job runs in this process through ``cozy.deletion.runner.run_job`` (not
  through a broker), so the figure includes listing, the progress and lease
  writes to the database (SQLite here), the index rows and the final sweep;
- raw batched: minio's ``remove_objects`` over the same number of keys, known
  up front (no listing), 1000 keys a request, one request at a time;
- per key: one ``remove_object`` (S3 DELETE) per key, one at a time, on a
  sample of the keys; its rate (keys/s) is extrapolated to the full count.

A last row times listing the instance's keys alone (before the job runs): the
work the job has to do that the raw baseline, given its keys, does not.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import platform
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from minio import Minio
from minio.deleteobjects import DeleteObject

from benchmarks.latency_proxy import LatencyProxy
from s3util import make_client
from s3util.seaweedfs import SeaweedFS

DOMAIN = "bench-deletion.localhost"
OBJECT = b"cozy-bench-deletion\n"  # tiny: the cost measured is per request and per key, not per byte
PUT_THREADS = 32
RAW_TARGET = 0.9  # cozy job / raw batched, in keys per second
PER_KEY_TARGET = 20.0  # cozy job / per-key DELETE
HEADER = "| method | objects | seconds | objects/s | cozy vs this | target | met |"


@dataclass(frozen=True)
class Counts:
    objects: int  # in the instance, and in the raw batched set
    per_key_sample: int  # keys deleted one DELETE each
    neighbours: int  # another instance's objects that must survive


FULL = Counts(objects=100_000, per_key_sample=5_000, neighbours=1_000)
QUICK = Counts(objects=2_000, per_key_sample=200, neighbours=50)


@dataclass
class Row:
    name: str
    objects: int
    seconds: float
    measured: str = ""  # how the figure was obtained, when not a plain full run

    @property
    def rate(self) -> float:
        return self.objects / self.seconds if self.seconds else float("inf")


# -- set-up -------------------------------------------------------------------------
def django_setup(tmp: Path, fs_url: str) -> None:
    """Django on a fresh SQLite database of its own, pointed at this run's SeaweedFS."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="cozy.settings",
        COZY_VAR_DIR=str(tmp / "var"),
        DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}",
        COZY_FS_URL=fs_url,
        SECRET_KEY="bench-only-" + secrets.token_hex(8),
        CELERY_BROKER_URL="filesystem://",
        LOG_LEVEL="WARNING",
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def make_instance(db_prefix: str | None = None, domain: str = DOMAIN) -> str:
    """A fresh instance; returns its db_prefix."""
    from django.contrib.auth import get_user_model

    from cozy.instances.models import Instance
    from cozy.instances.services import create_instance

    user = get_user_model().objects.get_or_create(username="bench")[0].username
    instance = create_instance(domain, user)
    if db_prefix:
        Instance.objects.filter(pk=instance.pk).update(db_prefix=db_prefix)
        return db_prefix
    return instance.db_prefix


def content_keys(prefix: str, count: int) -> list[str]:
    """Keys shaped like an instance's: ``<prefix>/files/<file_id>/<content_id>``, some files with versions."""
    return [f"{prefix}/files/{n // 2:08x}/{secrets.token_hex(8)}" for n in range(count)]


def put_all(client: Minio, bucket: str, keys: list[str]) -> float:
    """Write every key (tiny objects, a pool of PUTs); returns seconds taken."""

    def put(key: str) -> None:
        client.put_object(bucket, key, io.BytesIO(OBJECT), len(OBJECT))

    started = time.perf_counter()
    with ThreadPoolExecutor(PUT_THREADS) as pool:
        for _ in pool.map(put, keys, chunksize=64):
            pass
    return time.perf_counter() - started


def count_under(client: Minio, bucket: str, prefix: str) -> int:
    return sum(1 for _ in client.list_objects(bucket, prefix=prefix, recursive=True))


# -- the three ways to delete -----------------------------------------------------------
def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def cozy_job(domain: str) -> float:
    from cozy.deletion.models import DeletionJob
    from cozy.deletion.runner import run_job
    from cozy.deletion.services import open_job

    job, _ = open_job(domain, requested_by="benchmark")
    seconds = timed(lambda: run_job(job.pk))
    job.refresh_from_db()
    if job.state != DeletionJob.State.DONE:
        raise RuntimeError(f"the deletion job ended {job.state}: {job.last_error}")
    return seconds


def raw_batched(client: Minio, bucket: str, keys: list[str]) -> float:
    def run() -> None:
        errors = list(client.remove_objects(bucket, (DeleteObject(k) for k in keys)))
        if errors:
            raise RuntimeError(f"{len(errors)} keys could not be deleted")

    return timed(run)


def per_key(client: Minio, bucket: str, keys: list[str]) -> float:
    def run() -> None:
        for key in keys:
            client.remove_object(bucket, key)

    return timed(run)


# -- report -------------------------------------------------------------------------------
def table(rows: list[Row]) -> str:
    cozy = rows[0]
    lines = [HEADER, "|---|---:|---:|---:|---:|---:|---|"]
    targets = {"raw batched DeleteObjects": RAW_TARGET, "one DELETE per key": PER_KEY_TARGET}
    for row in rows:
        ratio = cozy.rate / row.rate
        target = targets.get(row.name)
        met = "" if target is None else ("yes" if ratio >= target else "NO")
        name = f"{row.name} ({row.measured})" if row.measured else row.name
        target_text = f">= {target:g}x" if target else ""
        lines.append(
            f"| {name} | {row.objects:,} | {row.seconds:.2f} | {row.rate:,.0f} | {ratio:.2f}x | {target_text} | {met} |"
        )
    return "\n".join(lines)


def run(counts: Counts, tmp: Path, latency_ms: float = 0) -> tuple[list[Row], dict[str, float]]:
    server = SeaweedFS(data_dir=tmp / "weed").start()
    proxy = None
    try:
        bucket_prefix = "bench" + secrets.token_hex(3)
        direct = server.config(bucket_prefix=bucket_prefix)
        config = direct
        if latency_ms:  # every measured request crosses the proxy; writing the objects does not
            proxy = LatencyProxy(direct.host, direct.port or 80, latency_ms)
            config = dataclasses.replace(direct, port=proxy.port)
        django_setup(tmp, config.to_url())
        client = make_client(config)
        prefix = make_instance()
        # A neighbour whose prefix starts like the deleted one's: it must survive whole.
        neighbour = make_instance(prefix + "0", "neighbour.localhost")
        from cozy.instances.models import Instance
        from cozy.instances.services import org_bucket

        bucket = org_bucket(Instance.objects.get(db_prefix=prefix))
        cozy_keys, raw_keys = content_keys(prefix, counts.objects), content_keys("rawbatch", counts.objects)
        sample = content_keys("perkey", counts.per_key_sample)
        neighbour_keys = content_keys(neighbour, counts.neighbours)
        everything = cozy_keys + raw_keys + sample + neighbour_keys
        print(f"writing {len(everything):,} objects...", file=sys.stderr, flush=True)
        put_seconds = put_all(make_client(direct), bucket, everything)

        print("deleting: raw batched, cozy job, per key...", file=sys.stderr, flush=True)
        listing = Row("listing alone (the instance's keys, nothing deleted)", counts.objects,
                      timed(lambda: count_under(client, bucket, prefix + "/")))  # fmt: skip
        raw = Row("raw batched DeleteObjects", counts.objects, raw_batched(client, bucket, raw_keys))
        cozy = Row("cozy deletion job", counts.objects, cozy_job(DOMAIN))
        single = Row("one DELETE per key", counts.per_key_sample, per_key(client, bucket, sample))
        if counts.per_key_sample < counts.objects:
            single.measured = f"sample of {counts.per_key_sample:,} keys, rate extrapolated"
        left = {p: count_under(client, bucket, p + "/") for p in (prefix, "rawbatch", "perkey")}
        if any(left.values()) or count_under(client, bucket, neighbour + "/") != counts.neighbours:
            raise RuntimeError(f"objects left or neighbour damaged: {left}")
        stats = {"put_seconds": put_seconds, "put_objects": len(everything)}
        return [cozy, raw, single, listing], stats
    finally:
        if proxy:
            proxy.close()
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run, not a measurement")
    parser.add_argument("--objects", type=int, help="objects in the instance (default 100,000; quick 2,000)")
    parser.add_argument("--per-key-sample", type=int, help="keys deleted one by one (default 5,000)")
    parser.add_argument("--latency-ms", type=float, default=0,
                        help="delay added each way to every S3 request, through a proxy (default 0)")
    args = parser.parse_args(argv)
    counts = QUICK if args.quick else FULL
    if args.objects or args.per_key_sample:
        counts = Counts(args.objects or counts.objects, args.per_key_sample or counts.per_key_sample,
                        counts.neighbours)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="cozy-bench-deletion-") as tmp:
        rows, stats = run(counts, Path(tmp), args.latency_ms)
    put_rate = stats["put_objects"] / stats["put_seconds"]
    print(
        f"{'quick smoke run' if args.quick else 'full run'}: SeaweedFS, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; writing {stats['put_objects']:,} objects took {stats['put_seconds']:.1f} s "
        f"({put_rate:,.0f} PUT/s, {PUT_THREADS} threads); the cozy job ran in-process, not through a broker"
        + (f"; {args.latency_ms:g} ms added each way to every measured request" if args.latency_ms else "")
    )
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
