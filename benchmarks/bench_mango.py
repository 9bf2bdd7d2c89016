"""Mango queries (POST /files/_find) and the change feed on a bulk-loaded instance.

    .venv/bin/python -m benchmarks.bench_mango                  # 100,000 files (docs/benchmarks.md)
    .venv/bin/python -m benchmarks.bench_mango --quick          # 2,000 files, a smoke run
    .venv/bin/python -m benchmarks.bench_mango --database-url postgres://.../empty_db

The index rows are inserted with bulk_create (no content: these routes read only
the index), in directories of 1,000 files with a mix of types, sizes, dates and
tags. Each query is the one a cozy app sends, through the real route in process
(Django's test client: no HTTP). PostgreSQL is ANALYZEd after the load, as
autovacuum soon would be; SQLite is not (Django never runs ANALYZE). A row gives the number of matches, the longest
single SQL statement of the request, and the whole request (SQL, documents and
JSON), as the median of the repeats. The target is the issue's: no query over 100 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

FILES_PER_DIR = 1000
TARGET_MS = 100.0
MIMES = [("image/jpeg", "image"), ("image/png", "image"), ("application/pdf", "pdf"), ("text/plain", "text"),
         ("video/mp4", "video"), ("application/zip", "zip")]
HEADER = "| query | files | matches | longest SQL statement | whole request | target | met |"


def setup_env(tmp: Path, database_url: str | None) -> None:
    os.environ.pop("DATABASE_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.update(COZY_VAR_DIR=str(tmp / "var"), SECRET_KEY="bench-only-secret-key", ALLOWED_HOSTS="*",
                      DJANGO_SETTINGS_MODULE="cozy.settings", LOG_LEVEL="WARNING")


def load(count: int):
    """An instance with ``count`` files; returns (instance, token, a directory id, a middle seq)."""
    from django.contrib.auth import get_user_model

    from cozy.files.models import Node, Sequence
    from cozy.files.tree import ensure_root_and_trash
    from cozy.instances.models import Instance, Token

    user = get_user_model().objects.create(username="bench")
    instance = Instance.objects.create(domain="bench.localhost", owner=user)
    root, _ = ensure_root_and_trash(instance)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    seq = Sequence.objects.get(instance=instance).last
    dirs = []
    for d in range(max(1, count // FILES_PER_DIR)):
        seq += 1
        dirs.append(Node(instance=instance, type="directory", name=f"dir{d:04}", parent=root, seq=seq))
    Node.objects.bulk_create(dirs, batch_size=1000)
    dirs = list(Node.objects.filter(instance=instance, type="directory", parent=root).exclude(name=".cozy_trash"))
    batch = []
    for i in range(count):
        seq += 1
        mime, klass = MIMES[i % len(MIMES)]
        when = start + timedelta(minutes=i)
        batch.append(Node(instance=instance, type="file", name=f"file{i:07}.{mime.split('/')[1]}",
                          parent=dirs[i % len(dirs)], size=(i * 7919) % 10_000_000, md5="0" * 32, mime=mime,
                          mime_class=klass, content_id=f"c{i}", created_at=when, updated_at=when, seq=seq,
                          trashed=i % 50 == 0, tags=["holiday"] if i % 100 == 0 else []))
        if len(batch) == 5000:
            Node.objects.bulk_create(batch)
            batch = []
    Node.objects.bulk_create(batch)
    Sequence.objects.filter(instance=instance).update(last=seq)
    _, token = Token.issue(instance)
    return instance, token, dirs[len(dirs) // 2].doc_id, seq - count // 2


def queries(dir_id: str, middle_seq: int, count: int) -> list[tuple[str, str, dict | None]]:
    recent = (datetime(2020, 1, 1, tzinfo=UTC) + timedelta(minutes=count - 500)).isoformat()
    find = "/files/_find"
    return [
        ("a directory's files by name (Drive)", find,
         {"selector": {"dir_id": dir_id, "type": "file"}, "sort": [{"name": "asc"}], "limit": 100}),
        ("images by date, newest first (Photos)", find,
         {"selector": {"class": "image", "trashed": False}, "sort": [{"created_at": "desc"}], "limit": 100}),
        ("recently updated files", find,
         {"selector": {"type": "file", "trashed": False, "updated_at": {"$gt": recent}},
          "sort": [{"updated_at": "desc"}], "limit": 50}),
        ("files by name, $in", find, {"selector": {"name": {"$in": ["file0000001.png", "file0000999.pdf"]}}}),
        ("trashed files, skip 100", find, {"selector": {"trashed": True, "type": "file"}, "skip": 100, "limit": 100}),
        ("tags $all", find, {"selector": {"tags": {"$all": ["holiday"]}}, "limit": 100}),
        ("_changes since the middle, 1,000", f"/files/_changes?since={middle_seq}&limit=1000", None),
        ("_changes since the middle, 100 with docs",
         f"/files/_changes?since={middle_seq}&limit=100&include_docs=true", None),
    ]


def run_query(client, path: str, body: dict | None) -> tuple[int, float, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        if body is None:
            resp = client.get(path)
        else:
            resp = client.post(path, data=json.dumps(body), content_type="application/json")
        whole = time.perf_counter() - started
    if resp.status_code != 200:
        raise SystemExit(f"{path} answered {resp.status_code}: {resp.content[:300]!r}")
    doc = resp.json()
    matches = doc["meta"]["count"] if "meta" in doc else len(doc["results"]) + doc["pending"]
    longest = max(float(q["time"]) for q in ctx.captured_queries)
    return matches, longest * 1000, whole * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=None, help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    count, repeat = (2_000, 1) if args.quick else (args.files, args.repeat)
    import django

    with tempfile.TemporaryDirectory(prefix="bench-mango-") as tmp:
        setup_env(Path(tmp), args.database_url)
        django.setup()
        from django.core.management import call_command
        from django.test import Client

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        instance, token, dir_id, middle = load(count)
        from django.db import connection

        if connection.vendor == "postgresql":  # what autovacuum does soon after a bulk load
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        print(f"loaded {count:,} files in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
        client = Client(HTTP_HOST=instance.domain, HTTP_AUTHORIZATION=f"Bearer {token}")
        db = "PostgreSQL" if (args.database_url or "").startswith("postgres") else "SQLite"
        print(f"{'quick ' if args.quick else ''}{db}, Python {platform.python_version()}, median of {repeat}")
        print(HEADER)
        print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
        for name, path, body in queries(dir_id, middle, count):
            run_query(client, path, body)  # warm the caches once
            runs = [run_query(client, path, body) for _ in range(repeat)]
            matches = runs[0][0]
            longest = statistics.median(r[1] for r in runs)
            whole = statistics.median(r[2] for r in runs)
            met = "yes" if longest <= TARGET_MS else "NO"
            print(f"| {name} | {count:,} | {matches:,} | {longest:.1f} ms | {whole:.1f} ms "
                  f"| <= {TARGET_MS:.0f} ms | {met} |")


if __name__ == "__main__":
    main()
