"""A selection downloaded as one zip (POST /files/archive), next to raw GETs of the same bytes.

    .venv/bin/python -m benchmarks.bench_archive           # 8 files of 256 MiB: a 2 GiB zip
    .venv/bin/python -m benchmarks.bench_archive --quick   # 4 files of 8 MiB, a smoke run

The server is the real run's gunicorn on a temporary SQLite database and an
embedded SeaweedFS, as in bench_api (whose client and servers this reuses).
The zip is streamed while it is made: the rows show its rate against raw
minio GETs of the same objects one after another (the least a zip of them
must do), and the largest growth of a worker's peak RSS while it is sent, the
high-water marks reset first through /proc/PID/clear_refs. The client reads
the zip in 1 MiB blocks and checks that it got Content-Length bytes, at least
the selection's size.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_api import (
    BLOCK,
    Api,
    MiB,
    Payload,
    Raw,
    Row,
    _drain,
    gunicorn,
    interleaved,
    peak_growth_mib,
    store_and_instance,
    table,
)

RSS_TARGET_MIB = 64  # "flat": what a streamed transfer may hold, as for uploads (bench_api)


@dataclass(frozen=True)
class Sizes:
    files: int
    size: int  # bytes each
    repeat: int


FULL = Sizes(files=8, size=256 * MiB, repeat=3)
QUICK = Sizes(files=4, size=8 * MiB, repeat=1)


def download_zip(api: Api, ids: list[str], at_least: int) -> int:
    """POST /files/archive for ``ids``; the zip's length, checked against its Content-Length."""
    body = json.dumps({"data": {"type": "io.cozy.files.archives", "attributes": {"name": "bench", "ids": ids}}})
    with contextlib.closing(api.connect()) as conn:
        conn.request("POST", "/files/archive", body=body, headers=api._headers(**{
            "Accept": "application/zip", "Content-Type": "application/vnd.api+json"}))
        resp = conn.getresponse()
        if resp.status != 200:
            raise RuntimeError(f"archive: HTTP {resp.status} {resp.read()[:200]!r}")
        total = _drain(resp.readinto)
    if total != int(resp.getheader("Content-Length") or -1) or total < at_least:
        raise RuntimeError(f"archive: read {total} bytes for a selection of {at_least}")
    return total


def read_raw(raw: Raw, keys: list[str], size: int) -> int:
    total = sum(raw.download(key) for key in keys)
    if total != size * len(keys):
        raise RuntimeError(f"raw: read {total} bytes")
    return total


def run(sizes: Sizes, tmp: Path) -> list[Row]:
    payload = Payload(sizes.size, bytearray(os.urandom(BLOCK)))  # random: no entry compresses
    with store_and_instance(tmp) as (env, api, raw):
        with gunicorn(env, tmp / "gunicorn.log") as server:
            api.port = server.port
            ids = [api.upload(payload) for _ in range(sizes.files)]
            keys = [raw.upload(payload) for _ in range(sizes.files)]
            selection = sizes.size * sizes.files
            download_zip(api, ids, selection)  # warm both sides
            read_raw(raw, keys, sizes.size)
            zip_s, raw_s = interleaved(lambda: download_zip(api, ids, selection),
                                       lambda: read_raw(raw, keys, sizes.size), sizes.repeat)
            growth = peak_growth_mib([p.pid for p in server.workers()], lambda: download_zip(api, ids, selection))
    mb, label = selection / 1e6, f"{sizes.files} files, {selection // MiB} MiB"
    return [Row(f"zip of {label} (POST /files/archive), MB/s", mb / zip_s, mb / raw_s, "report", None),
            Row("worker peak RSS growth while that zip is sent, MiB", growth, None, f"<= {RSS_TARGET_MIB} MiB",
                growth <= RSS_TARGET_MIB)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not figures")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    tmp = Path(tempfile.mkdtemp(prefix="cozy-bench-archive-"))
    try:
        rows = run(sizes, tmp)
    except BaseException:
        print(f"kept {tmp} (gunicorn.log, s3/weed.log)", file=sys.stderr)
        raise
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'quick' if args.quick else 'full'} run; zip rate: median of {sizes.repeat}, zip and raw alternating")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
