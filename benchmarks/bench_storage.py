"""vfs_s3's S3Storage next to raw minio and django-storages' boto3 S3Storage, on one S3 server.

    .venv/bin/python -m benchmarks.bench_storage                  # full run (figures in docs/benchmarks.md)
    .venv/bin/python -m benchmarks.bench_storage --quick          # small sizes, a smoke run
    .venv/bin/python -m benchmarks.bench_storage --server ceph    # on a throwaway Ceph cluster (radosgw)

One server (a SeaweedFS child process by default, or a Ceph cluster: monitor,
memstore OSD and radosgw), one bucket, three clients in this process:
raw ``minio`` (put_object / get_object, vfs_s3's part size and parallelism),
``vfs_s3.storage.S3Storage`` and ``storages.backends.s3.S3Storage`` (boto3 with
its defaults). Every save streams from a file-like of unknown length whose
``read()`` slices one reused random buffer; every full read pulls 1 MiB reads.
Series alternate between the backends (rotating who goes first) and the median
is reported. Peak RSS growth is measured in a fresh child process per backend:
VmHWM after a 1 GiB unknown-length save minus VmRSS before it (the high-water
mark is reset first through /proc/self/clear_refs). Under the table, the CPU time per
operation of this process (every thread) and of the server's processes, median of the
series: on a shared machine these move much less than the rates do.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

MiB = 1024 * 1024
READ_CHUNK = MiB
PART_SIZE, PARALLEL_PARTS = 8 * MiB, 4  # vfs_s3.writer.WriteOptions defaults, given to raw minio too
RATIO_TARGET = 0.9
RSS_TARGET_MIB = 64
BACKENDS = ("raw minio", "vfs_s3", "django-storages")
HEADER = "| row | raw minio | vfs_s3 | django-storages | vfs_s3 / raw | vfs_s3 / django-storages | target | met |"
ROOT_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Sizes:
    small_ops: int  # 1 KiB saves (and reads) per series
    medium: int  # the 8 MiB row
    medium_ops: int
    large: int  # the 256 MiB row
    rss: int  # the unknown-length save watched for RSS
    repeat: int  # series per row; the median is reported


FULL = Sizes(small_ops=200, medium=8 * MiB, medium_ops=8, large=256 * MiB, rss=1024 * MiB, repeat=5)
QUICK = Sizes(small_ops=10, medium=8 * MiB, medium_ops=1, large=24 * MiB, rss=48 * MiB, repeat=1)


# -- the source of every save ------------------------------------------------------------
class Source:
    """``size`` random-looking bytes of unknown length: no ``size``, not seekable.

    Each read slices the one reused buffer at a moving offset, so consecutive
    parts differ and nothing the size of the file is ever held.
    """

    BUF = 16 * MiB + 4099

    def __init__(self, size: int, buf: bytes):
        self._left, self._view, self._offset = size, memoryview(buf), 0

    def read(self, n: int = -1) -> bytes:
        n = self.BUF // 2 if n is None or n < 0 else min(n, self.BUF // 2)
        n = min(n, self._left)
        self._offset = (self._offset + 7919) % (self.BUF - n)
        self._left -= n
        return bytes(self._view[self._offset : self._offset + n])

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return True

    closed = False

    def close(self) -> None:
        pass


def new_buffer() -> bytes:
    return os.urandom(Source.BUF)


# -- the three backends ------------------------------------------------------------------
def setup_django(fs_url: str) -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(USE_TZ=True, COZY_FS_URL=fs_url)
        django.setup()


@dataclass
class Bench:
    """What every backend offers the benchmark: save a source, read a key fully."""

    name: str
    save: Callable[[str, Source], None]
    read: Callable[[str], int]


def raw_minio(fs_url: str, bucket: str) -> Bench:
    from s3util import make_client, parse_fs_url

    client = make_client(parse_fs_url(fs_url))

    def save(key: str, src: Source) -> None:
        client.put_object(bucket, key, src, -1, part_size=PART_SIZE,  # type: ignore[arg-type]
                          num_parallel_uploads=PARALLEL_PARTS)

    def read(key: str) -> int:
        resp = client.get_object(bucket, key)
        try:
            return _drain(resp.read)
        finally:
            resp.close()
            resp.release_conn()

    return Bench("raw minio", save, read)


def vfs_s3_storage(fs_url: str, bucket: str) -> Bench:
    from django.core.files.base import File

    from vfs_s3.storage import S3Storage

    storage = S3Storage(url=fs_url, bucket=bucket)
    return Bench("vfs_s3", lambda key, src: _saved(storage.save(key, File(src, key)), key),
                 lambda key: _read_storage(storage, key))


def django_storages(fs_url: str, bucket: str) -> Bench:
    from django.core.files.base import File
    from storages.backends.s3 import S3Storage

    from s3util import parse_fs_url

    config = parse_fs_url(fs_url)
    storage = S3Storage(bucket_name=bucket, endpoint_url=config.endpoint_url, access_key=config.access_key,
                        secret_key=config.secret_key, region_name=config.region, addressing_style="path",
                        file_overwrite=True)
    return Bench("django-storages", lambda key, src: _saved(storage.save(key, File(src, key)), key),
                 lambda key: _read_storage(storage, key))


MAKERS = {"raw minio": raw_minio, "vfs_s3": vfs_s3_storage, "django-storages": django_storages}


def _saved(got: str, want: str) -> None:
    if got != want:
        raise RuntimeError(f"saved under {got!r}, not {want!r}")


def _read_storage(storage, key: str) -> int:
    with storage.open(key, "rb") as f:
        return _drain(f.read)


def _drain(read: Callable[[int], bytes]) -> int:
    total = 0
    while chunk := read(READ_CHUNK):
        total += len(chunk)
    return total


# -- series -------------------------------------------------------------------------------
@dataclass
class Row:
    name: str
    unit: str  # "ops/s", "MB/s" or "MiB"
    values: dict[str, float]  # backend -> figure
    target: str
    met: bool | None  # None: reported, no target
    cpu_ms: dict[str, tuple[float, float]] = field(default_factory=dict)  # backend -> (client, server) per op

    def ratio(self, other: str) -> float:
        return self.values["vfs_s3"] / self.values[other] if self.values[other] else float("nan")


class CpuClock:
    """CPU seconds (user and system) used so far by this process, every thread, and by the
    server's processes and their children."""

    def __init__(self, server_pids: list[int]):
        self._server = [psutil.Process(pid) for pid in server_pids]

    def __call__(self) -> tuple[float, float]:
        return time.process_time(), sum(_cpu_seconds(p) for p in self._server)


def _cpu_seconds(proc: psutil.Process) -> float:
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # a child that just ended
            times = p.cpu_times()
            total += times.user + times.system
    return total


@dataclass
class Timings:
    secs: dict[str, float]  # backend -> median seconds of a series
    cpu: dict[str, tuple[float, float]]  # backend -> median (client, server) CPU seconds of a series


def alternate(series: dict[str, Callable[[], None]], repeat: int, clock: CpuClock) -> Timings:
    """Median of ``repeat`` timings (wall and CPU) per backend; the starting backend rotates."""
    names = list(series)
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in names}
    for r in range(repeat):
        for name in names[r % len(names):] + names[: r % len(names)]:
            cpu_before, start = clock(), time.perf_counter()
            series[name]()
            secs, cpu_after = time.perf_counter() - start, clock()
            runs[name].append((secs, cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1]))
    med = {name: [statistics.median(run[i] for run in values) for i in range(3)] for name, values in runs.items()}
    return Timings({n: m[0] for n, m in med.items()}, {n: (m[1], m[2]) for n, m in med.items()})


class Keys:
    """Fresh object names, and the list of them to delete between rows (untimed)."""

    def __init__(self) -> None:
        self.count, self.made = 0, []

    def __call__(self, tag: str) -> str:
        self.count += 1
        self.made.append(f"bench/{tag}-{self.count}")
        return self.made[-1]


def save_row(benches: list[Bench], keys: Keys, buf: bytes, size: int, ops: int, repeat: int,
             clock: CpuClock) -> Timings:
    def series(bench: Bench) -> Callable[[], None]:
        def run() -> None:
            for _ in range(ops):
                bench.save(keys(f"s{size}"), Source(size, buf))
        return run

    return alternate({b.name: series(b) for b in benches}, repeat, clock)


def read_row(benches: list[Bench], key: str, size: int, ops: int, repeat: int, clock: CpuClock) -> Timings:
    def series(bench: Bench) -> Callable[[], None]:
        def run() -> None:
            for _ in range(ops):
                if (got := bench.read(key)) != size:
                    raise RuntimeError(f"{bench.name} read {got} bytes, expected {size}")
        return run

    return alternate({b.name: series(b) for b in benches}, repeat, clock)


def size_label(size: int) -> str:
    return f"{size // MiB} MiB" if size >= MiB else f"{size // 1024} KiB"


def throughput_rows(benches: list[Bench], client, bucket: str, buf: bytes, sizes: Sizes,
                    clock: CpuClock) -> list[Row]:
    from s3util import delete_objects

    rows = []
    cases = [(1024, sizes.small_ops, "ops/s"), (sizes.medium, sizes.medium_ops, "MB/s"), (sizes.large, 1, "MB/s")]
    for size, ops, unit in cases:
        keys = Keys()
        timings = save_row(benches, keys, buf, size, ops, sizes.repeat, clock)
        rows.append(make_row(f"save {size_label(size)}", unit, timings, size, ops))
        progress(rows[-1])
        read_key = keys("read")
        client.put_object(bucket, read_key, Source(size, buf), -1, part_size=PART_SIZE)
        timings = read_row(benches, read_key, size, ops, sizes.repeat, clock)
        rows.append(make_row(f"full read {size_label(size)}", unit, timings, size, ops))
        progress(rows[-1])
        delete_objects(client, bucket, keys.made)
    return rows


def make_row(name: str, unit: str, timings: Timings, size: int, ops: int) -> Row:
    values = {n: ops / s if unit == "ops/s" else size * ops / 1e6 / s for n, s in timings.secs.items()}
    cpu_ms = {n: (client * 1e3 / ops, server * 1e3 / ops) for n, (client, server) in timings.cpu.items()}
    large = unit == "MB/s" and size > 8 * MiB
    vs_dj = values["vfs_s3"] > values["django-storages"]
    vs_raw = values["vfs_s3"] >= RATIO_TARGET * values["raw minio"]
    target = f">= {RATIO_TARGET}x raw, > django-storages" if large else "> django-storages"
    return Row(f"{name}, {unit}", unit, values, target, vs_dj and (vs_raw or not large), cpu_ms)


# -- peak RSS, one child process per backend ---------------------------------------------------
def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        match = re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M)
    assert match, field
    return int(match.group(1))


def rss_child(backend: str, fs_url: str, bucket: str, size: int) -> dict[str, float]:
    """In a fresh process: warm the backend, reset the high-water mark, save ``size`` bytes."""
    import gc

    setup_django(fs_url)
    bench = MAKERS[backend](fs_url, bucket)
    buf = new_buffer()
    bench.save("bench/rss-warm", Source(1024, buf))  # connections, lazy imports
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS
    before = _status_kib("VmRSS")
    start = time.perf_counter()
    bench.save("bench/rss", Source(size, buf))
    secs = time.perf_counter() - start
    return {"growth_mib": (_status_kib("VmHWM") - before) / 1024, "mb_s": size / 1e6 / secs}


def rss_rows(fs_url: str, bucket: str, client, size: int) -> list[Row]:
    from s3util import delete_objects

    growth, speed = {}, {}
    for backend in BACKENDS:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_storage", "--rss-child", backend, "--rss-size", str(size)],
            cwd=ROOT_DIR, env={**os.environ, "BENCH_FS_URL": fs_url, "BENCH_BUCKET": bucket},
            capture_output=True, text=True, timeout=900,
        )
        if done.returncode:
            raise RuntimeError(f"RSS child for {backend} failed:\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        growth[backend], speed[backend] = result["growth_mib"], result["mb_s"]
        delete_objects(client, bucket, ["bench/rss", "bench/rss-warm"])
    label = size_label(size)
    rows = [
        Row(f"peak RSS growth, {label} unknown-length save, MiB", "MiB", growth, f"<= {RSS_TARGET_MIB} MiB",
            growth["vfs_s3"] <= RSS_TARGET_MIB),
        Row("that save, MB/s (one run each)", "MB/s", speed, "report", None),
    ]
    for row in rows:
        progress(row)
    return rows


# -- report ---------------------------------------------------------------------------------
def _fmt(value: float) -> str:
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"


def table(rows: list[Row]) -> str:
    lines = [HEADER, "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for row in rows:
        figures = " | ".join(_fmt(row.values[b]) for b in BACKENDS)
        ratios = f"{_fmt(row.ratio('raw minio'))} | {_fmt(row.ratio('django-storages'))}"
        met = "-" if row.met is None else ("yes" if row.met else "NO")
        lines.append(f"| {row.name} | {figures} | {ratios} | {row.target} | {met} |")
    return "\n".join(lines)


def cpu_lines(rows: list[Row]) -> str:
    """CPU per operation under the table: lines that are no table rows."""
    lines = ["CPU ms per operation, this process + the server (median of the series):"]
    for row in rows:
        if row.cpu_ms:
            figures = ", ".join(f"{b} {_fmt(c)} + {_fmt(s)}" for b, (c, s) in row.cpu_ms.items())
            lines.append(f"- {row.name.split(',')[0]}: {figures}")
    return "\n".join(lines)


def progress(row: Row) -> None:
    """Each row to stderr as soon as it is measured: a later failure does not lose it."""
    figures = ", ".join(f"{b} {_fmt(v)}" for b, v in row.values.items())
    print(f"  {row.name}: {figures}", file=sys.stderr, flush=True)


def context_line(sizes: Sizes, quick: bool, server: str) -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{'quick (sizes too small for the targets to mean much)' if quick else 'full'} run; "
            f"{os.cpu_count()} CPU core(s) shared by client and {SERVERS[server]}; load average at the end {load}; "
            f"Python {platform.python_version()}; rows: median of {sizes.repeat} series, backends alternating")


# -- main -----------------------------------------------------------------------------------
SERVERS = {"seaweedfs": "SeaweedFS", "ceph": "Ceph (mon, memstore OSD, radosgw)"}


def start_server(server: str, data_dir: Path, sizes: Sizes):
    """The server, as a context manager that yields an object with ``config()``."""
    if server == "ceph":
        from s3util.ceph import Ceph, GiB

        # memstore holds every object in RAM: room for the largest row's saves (deleted after each row).
        return Ceph(data_dir=data_dir, device_bytes=max(4 * GiB, 3 * sizes.repeat * sizes.large + 2 * sizes.rss))
    from s3util.seaweedfs import SeaweedFS

    return SeaweedFS(data_dir=data_dir)


def server_pids(s3) -> list[int]:
    """The server's own processes (SeaweedFS: one, with its children; Ceph: one per daemon)."""
    procs = getattr(s3, "processes", None) or {"weed": s3.process}
    return [proc.pid for proc in procs.values() if proc is not None]


def run(sizes: Sizes, data_dir: Path, server: str = "seaweedfs") -> list[Row]:
    from s3util import bucket_name, ensure_bucket, make_client

    with start_server(server, data_dir, sizes) as s3:
        config = s3.config()
        fs_url = config.to_url()
        client = make_client(config)
        bucket = bucket_name(config.bucket_prefix, "bench")
        ensure_bucket(client, bucket, config.region)
        setup_django(fs_url)
        benches = [MAKERS[name](fs_url, bucket) for name in BACKENDS]
        clock = CpuClock(server_pids(s3))
        warm = Keys()
        save_row(benches, warm, new_buffer(), 2 * PART_SIZE, 1, len(benches), clock)  # SeaweedFS grows volumes
        buf = new_buffer()
        rows = throughput_rows(benches, client, bucket, buf, sizes, clock)
        rows += rss_rows(fs_url, bucket, client, sizes.rss)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not figures")
    parser.add_argument("--repeat", type=int, help="series per row (default 5, quick 1)")
    parser.add_argument("--server", choices=SERVERS, default="seaweedfs", help="the S3 server to start")
    parser.add_argument("--rss-child", choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--rss-size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        result = rss_child(args.rss_child, os.environ["BENCH_FS_URL"], os.environ["BENCH_BUCKET"], args.rss_size)
        print(json.dumps(result))
        return 0
    sizes = QUICK if args.quick else FULL
    if args.repeat:
        sizes = Sizes(sizes.small_ops, sizes.medium, sizes.medium_ops, sizes.large, sizes.rss, args.repeat)
    with tempfile.TemporaryDirectory(prefix="cozy-bench-storage-") as tmp:
        rows = run(sizes, Path(tmp), args.server)
    print(context_line(sizes, args.quick, args.server))
    print(table(rows))
    print(cpu_lines(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
