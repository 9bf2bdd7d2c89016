"""Files API throughput and memory, through gunicorn, next to raw minio on the same SeaweedFS.

    .venv/bin/python -m benchmarks.bench_api            # full run (figures in docs/benchmarks.md)
    .venv/bin/python -m benchmarks.bench_api --quick    # small sizes, a smoke run
    .venv/bin/python -m benchmarks.bench_api --postgres postgres://postgres@127.0.0.1:5432/cozy_bench

Everything runs in one process tree on one machine: SeaweedFS, gunicorn (the
options of the real run, from cozy.core.launcher) and this client, which
streams request bodies from one reusable 8 MiB buffer. The raw baseline is the
minio SDK from this process against the same SeaweedFS, in the same run, with
the part size and parallelism of vfs_s3's writer. The RSS row runs on a fresh
gunicorn: the largest VmHWM-after minus VmRSS-before of its workers around a
1 GiB upload, the high-water marks reset first through /proc/PID/clear_refs.
The server uses a temporary SQLite database, as the default run does. With
``--postgres URL`` the 1 KiB upload rows run a second time on a fresh gunicorn
whose database is PostgreSQL: the bench creates the database the URL names (it
must not exist), and drops it at the end.

With ``--pin-store`` SeaweedFS runs on CPU 0 and everything else (this client,
gunicorn) on the other CPUs, as when the store is a machine of its own: the
figures then show whether cozy keeps up with the store, where the default run
shows what cozy costs on a box whose cores it shares with the store.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import hashlib
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psutil
from minio import Minio

from cozy.core.web import web_command
from s3util import bucket_name, make_client
from s3util.seaweedfs import SeaweedFS, free_ports

ROOT_DIR = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
BLOCK = 8 * MiB  # the client's reusable buffer
PART_SIZE, PARALLEL_PARTS = 8 * MiB, 4  # vfs_s3.writer.WriteOptions defaults, for the raw baseline
DOMAIN = "bench.localhost"
QUOTA_DOMAIN = "quota.localhost"  # the instance of the quota rows
ROOT_ID = "io.cozy.files.root-dir"
SMALL = 1024
RSS_TARGET_MIB = 64
RATIO_TARGET = 0.9
HEADER = "| benchmark | cozy API | raw minio | ratio | target | met |"


SMALL_TARGETS = {1: 0.4, 8: 0.5}  # clients -> the ratio to raw minio that 1 KiB uploads must reach (issue 14)


@dataclass(frozen=True)
class Sizes:
    big: int  # upload / download row
    small_count: int  # 1 KiB uploads per series, and 1 KiB downloads
    rss_big: int  # the upload watched for RSS
    repeat: int  # series per throughput row (median reported)
    clients: int  # concurrent clients for the concurrent small row
    listing: int  # entries of the listed directory
    listings: int  # GETs of that directory
    filled: int  # files already in the instance with a quota of the quota rows


FULL = Sizes(big=256 * MiB, small_count=1000, rss_big=1024 * MiB, repeat=3, clients=8, listing=1000, listings=100,
             filled=100_000)
QUICK = Sizes(big=16 * MiB, small_count=40, rss_big=32 * MiB, repeat=1, clients=4, listing=40, listings=10, filled=500)


# -- payload --------------------------------------------------------------------
class Payload:
    """``size`` random-looking bytes from one 8 MiB buffer; each block is stamped
    with its index so that no two blocks are equal (no dedup, no compression)."""

    def __init__(self, size: int, buf: bytearray):
        self.size, self._buf = size, buf
        self.md5_b64 = base64.b64encode(self._md5()).decode()

    def blocks(self) -> Iterator[memoryview]:
        view = memoryview(self._buf)
        for index, start in enumerate(range(0, self.size, BLOCK)):
            self._buf[:8] = index.to_bytes(8, "big")
            yield view[: min(BLOCK, self.size - start)]

    def _md5(self) -> bytes:
        digest = hashlib.md5()  # noqa: S324 - Content-MD5, not security
        for block in self.blocks():
            digest.update(block)
        return digest.digest()


class PayloadReader:
    """The file-like view of a payload that minio's put_object reads."""

    def __init__(self, payload: Payload):
        self._blocks, self._rest = payload.blocks(), memoryview(b"")

    def read(self, size: int = -1) -> bytes:
        if not self._rest:
            self._rest = next(self._blocks, memoryview(b""))
        size = len(self._rest) if size < 0 else size
        out, self._rest = self._rest[:size], self._rest[size:]
        return bytes(out)


# -- the two sides ----------------------------------------------------------------
@dataclass
class Api:
    """The files API over plain http.client: bodies are streamed, never joined."""

    port: int
    token: str
    host: str = DOMAIN  # the instance's domain
    _names: Iterator[int] = field(default_factory=lambda: iter(range(10**9)))

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)

    def _headers(self, **extra: str) -> dict[str, str]:
        return {"Host": self.host, "Authorization": f"Bearer {self.token}", **extra}

    def _path(self, dir_id: str = ROOT_ID) -> str:
        return f"/files/{dir_id}?Type=file&Name={quote(f'f{next(self._names)}')}"

    def upload(self, payload: Payload, md5: bool = True) -> str:
        """A connection of its own: gunicorn closes idle keep-alive ones after 2 s.

        With ``md5``, the body carries Content-MD5, as cozy's clients send it: a large
        one then goes as a streamed PUT the store checks. Without, cozy hashes it."""
        with contextlib.closing(self.connect()) as conn:
            conn.putrequest("POST", self._path(), skip_host=True, skip_accept_encoding=True)
            headers = self._headers(**{"Content-Type": "application/octet-stream",
                                       "Content-Length": str(payload.size)})
            if md5:
                headers["Content-MD5"] = payload.md5_b64
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders()
            for block in payload.blocks():
                conn.send(block)
            return _doc_id(conn.getresponse())

    def upload_small(self, conn: http.client.HTTPConnection, data: bytes, md5: str, dir_id: str = ROOT_ID,
                     mime: str = "application/octet-stream") -> str:
        headers = self._headers(**{"Content-Type": mime, "Content-MD5": md5})
        conn.request("POST", self._path(dir_id), body=data, headers=headers)  # one send: headers and body
        return _doc_id(conn.getresponse())

    def mkdir(self, name: str) -> str:
        with contextlib.closing(self.connect()) as conn:
            conn.request("POST", f"/files/{ROOT_ID}?Type=directory&Name={quote(name)}", headers=self._headers())
            return _doc_id(conn.getresponse())

    def get(self, conn: http.client.HTTPConnection, path: str) -> int:
        """A GET on a keep-alive connection; the body's length."""
        conn.request("GET", path, headers=self._headers())
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"GET: HTTP {resp.status} {body[:200]!r}")
        return len(body)

    def download(self, doc_id: str) -> int:
        with contextlib.closing(self.connect()) as conn:
            conn.request("GET", f"/files/download/{doc_id}", headers=self._headers())
            resp = conn.getresponse()
            if resp.status != 200:
                raise RuntimeError(f"download: HTTP {resp.status} {resp.read()[:200]!r}")
            return _drain(resp.readinto)


@dataclass
class Raw:
    """minio straight to the same SeaweedFS bucket."""

    client: Minio
    bucket: str
    _names: Iterator[int] = field(default_factory=lambda: iter(range(10**9)))

    def _key(self) -> str:
        return f"bench-raw/o{next(self._names)}"

    def upload(self, payload: Payload) -> str:
        key = self._key()
        self.client.put_object(self.bucket, key, PayloadReader(payload), payload.size,  # type: ignore[arg-type]
                               part_size=PART_SIZE, num_parallel_uploads=PARALLEL_PARTS)
        return key

    def upload_bytes(self, data: bytes) -> str:
        key = self._key()
        self.client.put_object(self.bucket, key, _BytesReader(data), len(data))  # type: ignore[arg-type]
        return key

    def download(self, key: str) -> int:
        resp = self.client.get_object(self.bucket, key)
        try:
            return _drain(resp.readinto)
        finally:
            resp.close()
            resp.release_conn()


class _BytesReader:
    def __init__(self, data: bytes):
        self._data = data

    def read(self, size: int = -1) -> bytes:
        out, self._data = (self._data, b"") if size < 0 else (self._data[:size], self._data[size:])
        return out


def _doc_id(resp: http.client.HTTPResponse) -> str:
    body = resp.read()
    if resp.status != 201:
        raise RuntimeError(f"upload: HTTP {resp.status} {body[:200]!r}")
    return json.loads(body)["data"]["id"]


def _drain(readinto: Callable[[memoryview], int]) -> int:
    buf, total = memoryview(bytearray(MiB)), 0
    while n := readinto(buf):
        total += n
    return total


# -- servers ------------------------------------------------------------------------
def server_env(tmp: Path, fs_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cozy.settings",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "COZY_VAR_DIR": str(tmp),
        "DATABASE_URL": f"sqlite:///{tmp / 'cozy.sqlite3'}",
        "COZY_FS_URL": fs_url,
        "ALLOWED_HOSTS": f"{DOMAIN},{QUOTA_DOMAIN}",
        "LOG_LEVEL": "WARNING",
    }


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT_DIR, env=env, capture_output=True,
                          text=True, timeout=120)
    if done.returncode:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stderr[-2000:]}")
    return done.stdout


_SETUP_INSTANCE = """
from django.contrib.auth import get_user_model
from cozy.instances.models import Token
from cozy.instances.services import create_instance
get_user_model().objects.create_user({user!r})
print(Token.issue(create_instance({domain!r}, {user!r}))[1])
"""


def setup_database(env: dict[str, str]) -> str:
    """Migrate the temporary database, create user + instance; return a token."""
    manage(env, "migrate", "--no-input", "-v", "0")
    return add_instance(env, DOMAIN, "bench")


def add_instance(env: dict[str, str], domain: str, user: str) -> str:
    """A user and an instance at ``domain``; a token of it."""
    return manage(env, "shell", "-c", _SETUP_INSTANCE.format(domain=domain, user=user)).strip().splitlines()[-1]


@dataclass
class Gunicorn:
    port: int
    proc: subprocess.Popen

    def workers(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children()


@contextlib.contextmanager
def gunicorn(env: dict[str, str], log_path: Path,
             command: Callable[[str], list[str]] = web_command) -> Iterator[Gunicorn]:
    """The web server of the real run, or the one ``command(bind)`` starts (it must run
    at least two worker processes, children of the one it starts)."""
    (port,) = free_ports(1)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(command(f"127.0.0.1:{port}"), env=env, cwd=ROOT_DIR, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    server = Gunicorn(port, proc)
    try:
        _wait_ready(server, log_path)
        yield server
    finally:
        _stop(proc)


def _wait_ready(server: Gunicorn, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited; see {log_path}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            conn.request("GET", "/api/openapi.json", headers={"Host": DOMAIN})
            conn.getresponse().read()
            conn.close()
            if len(server.workers()) >= 2:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"gunicorn did not start; see {log_path}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# -- measurements ---------------------------------------------------------------------
@dataclass
class Row:
    name: str
    api: float
    raw: float | None
    target: str
    met: bool | None  # None: no target

    @property
    def ratio(self) -> float | None:
        return self.api / self.raw if self.raw else None


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(api_fn: Callable[[], object], raw_fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median seconds of each side, runs alternating so that drift hits both."""
    api_times, raw_times = [], []
    for _ in range(repeat):
        api_times.append(timed(api_fn))
        raw_times.append(timed(raw_fn))
    return statistics.median(api_times), statistics.median(raw_times)


def ratio_row(name: str, api: float, raw: float) -> Row:
    return Row(name, api, raw, f">= {RATIO_TARGET}x raw", api / raw >= RATIO_TARGET)


def big_rows(api: Api, raw: Raw, payload: Payload, repeat: int) -> list[Row]:
    mb = payload.size / 1e6
    up_api, up_raw = interleaved(lambda: api.upload(payload), lambda: raw.upload(payload), repeat)
    hashed_api, hashed_raw = interleaved(lambda: api.upload(payload, md5=False), lambda: raw.upload(payload), repeat)
    doc_id, key = api.upload(payload), raw.upload(payload)
    down_api, down_raw = interleaved(lambda: _check(api.download(doc_id), payload.size),
                                     lambda: _check(raw.download(key), payload.size), repeat)
    label = f"{payload.size // MiB} MiB"
    return [ratio_row(f"{label} upload, MB/s", mb / up_api, mb / up_raw),
            Row(f"{label} upload without Content-MD5 (cozy hashes), MB/s", mb / hashed_api, mb / hashed_raw, "report",
                None),
            ratio_row(f"{label} download, MB/s", mb / down_api, mb / down_raw)]


def _check(got: int, want: int) -> None:
    if got != want:
        raise RuntimeError(f"read {got} bytes, expected {want}")


def small_series_api(api: Api, count: int, clients: int) -> None:
    data = os.urandom(SMALL)
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()  # noqa: S324

    def one_client(n: int) -> None:
        with contextlib.closing(api.connect()) as conn:
            for _ in range(n):
                api.upload_small(conn, data, md5)

    _fan_out(one_client, count, clients)


def small_series_raw(raw: Raw, count: int, clients: int) -> None:
    data = os.urandom(SMALL)

    def one_client(n: int) -> None:
        for _ in range(n):
            raw.upload_bytes(data)

    _fan_out(one_client, count, clients)


def _fan_out(one_client: Callable[[int], None], count: int, clients: int) -> None:
    if clients == 1:
        one_client(count)
        return
    with ThreadPoolExecutor(clients) as pool:
        for fut in [pool.submit(one_client, count // clients) for _ in range(clients)]:
            fut.result()


def small_rows(api: Api, raw: Raw, sizes: Sizes, database: str, server: Gunicorn) -> list[Row]:
    """The 1 KiB upload rows, and the workers' CPU ms an upload of each:
    on a shared machine, a figure that other work moves much less than req/s (median of the series)."""
    rows = []
    for clients in (1, sizes.clients):
        count = sizes.small_count - sizes.small_count % clients
        cpu: list[float] = []

        def api_series(c: int = clients, n: int = count, cpu: list[float] = cpu) -> None:
            before = worker_cpu(server)
            small_series_api(api, n, c)
            cpu.append((worker_cpu(server) - before) * 1000 / n)

        t_api, t_raw = interleaved(api_series, lambda c=clients, n=count: small_series_raw(raw, n, c), sizes.repeat)
        who = "sequential" if clients == 1 else f"{clients} clients"
        target = SMALL_TARGETS[1 if clients == 1 else 8]
        ratio = t_raw / t_api
        name = f"{count} x 1 KiB uploads ({who}, {database})"
        rows.append(Row(f"{name}, req/s", count / t_api, count / t_raw, f">= {target}x raw", ratio >= target))
        rows.append(Row(f"{name}, worker CPU ms", statistics.median(cpu), None, "report", None))
    return rows


def latencies(request: Callable[[], object], count: int) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) of ``count`` requests one after another."""
    times = [timed(request) for _ in range(count)]
    ms = sorted(t * 1000 for t in times)
    return count / sum(times), statistics.median(ms), ms[max(0, int(len(ms) * 0.99) - 1)]


def latency_rows(name: str, api: tuple[float, float, float], raw: tuple[float, float, float] | None) -> list[Row]:
    units = ("req/s", "p50 ms", "p99 ms")
    return [Row(f"{name}, {unit}", api[i], raw[i] if raw else None, "report", None) for i, unit in enumerate(units)]


_FILL = """
from cozy.files.models import Node
from cozy.instances.models import Instance
instance = Instance.objects.get(domain={domain!r})
instance.quota_bytes = 2 ** 50
instance.save(update_fields=["quota_bytes"])
root = Node.objects.get(instance=instance, doc_id="io.cozy.files.root-dir")
folder = Node.objects.create(instance=instance, type="directory", name="filled", parent=root)
Node.objects.bulk_create([Node(instance=instance, type="file", name=f"n{{i}}", parent=folder, size=1024,
                               content_id=f"filled{{i}}") for i in range({count})], batch_size=5000)
"""


def quota_rows(env: dict[str, str], api: Api, raw: Raw, sizes: Sizes, database: str) -> list[Row]:
    """1 KiB uploads, sequential, to an instance with a quota that holds ``sizes.filled`` files
    (index rows only: the upload reads the quota, never their objects)."""
    filled = Api(api.port, add_instance(env, QUOTA_DOMAIN, f"quota{database.lower()}"), QUOTA_DOMAIN)
    manage(env, "shell", "-c", _FILL.format(domain=filled.host, count=sizes.filled))
    count = sizes.small_count // 2
    t_api, t_raw = interleaved(lambda: small_series_api(filled, count, 1), lambda: small_series_raw(raw, count, 1),
                               sizes.repeat)
    name = f"{count} x 1 KiB uploads (sequential, {database}, a quota, {sizes.filled:,} files), req/s"
    return [Row(name, count / t_api, count / t_raw, f">= {SMALL_TARGETS[1]}x raw", t_raw / t_api >= SMALL_TARGETS[1])]


def small_read_rows(api: Api, raw: Raw, count: int) -> list[Row]:
    """1 KiB downloads one after another: cozy's on one keep-alive connection, raw minio's on its pool."""
    data = os.urandom(SMALL)
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()  # noqa: S324
    with contextlib.closing(api.connect()) as conn:
        path = f"/files/download/{api.upload_small(conn, data, md5)}"
        key = raw.upload_bytes(data)
        api_side = latencies(lambda: _check(api.get(conn, path), SMALL), count)
    raw_side = latencies(lambda: _check(raw.download(key), SMALL), count)
    return latency_rows(f"{count} x 1 KiB downloads (sequential)", api_side, raw_side)


def worker_cpu(server: Gunicorn) -> float:
    """CPU seconds the workers have used (user and system): unlike latency, barely moved
    by other work on a shared machine."""
    return sum(sum(w.cpu_times()[:2]) for w in server.workers())


def listing_rows(api: Api, server: Gunicorn, entries: int, count: int) -> list[Row]:
    """``GET /files/{id}`` of a directory of ``entries`` files, the whole of it in one page: plain
    files, then photos (whose documents carry four signed thumbnail links each)."""
    rows = []
    for kind, mime in (("files", "application/octet-stream"), ("photos", "image/jpeg")):
        dir_id = api.mkdir(f"listed {kind}")
        data = os.urandom(SMALL)  # not a real JPEG: no worker runs to make its thumbnails
        md5 = base64.b64encode(hashlib.md5(data).digest()).decode()  # noqa: S324
        with contextlib.closing(api.connect()) as conn:
            for _ in range(entries):
                api.upload_small(conn, data, md5, dir_id, mime)
            path = f"/files/{dir_id}?page[limit]={entries}"
            api.get(conn, path)  # warm
            cpu = worker_cpu(server)
            api_side = latencies(lambda p=path, c=conn: api.get(c, p), count)
            cpu = (worker_cpu(server) - cpu) / count * 1000
        name = f"GET /files/{{id}} of a directory of {entries} {kind} (one page)"
        rows += [*latency_rows(name, api_side, None), Row(f"{name}, worker CPU ms", cpu, None, "report", None)]
    return rows


def _status_kib(pid: int, name: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        match = re.search(rf"^{name}:\s+(\d+) kB", f.read(), re.M)
    if not match:
        raise RuntimeError(f"no {name} in /proc/{pid}/status")
    return int(match.group(1))


def peak_growth_mib(pids: list[int], action: Callable[[], object]) -> float:
    """The largest VmHWM-after minus VmRSS-before of these processes around ``action``.

    Writing 5 to /proc/PID/clear_refs resets the high-water mark to the current
    RSS, so the kernel records the exact peak: no sampling gaps.
    """
    before = {}
    for pid in pids:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        before[pid] = _status_kib(pid, "VmRSS")
    action()
    return max(_status_kib(pid, "VmHWM") - before[pid] for pid in pids) / 1024


def rss_rows(server: Gunicorn, api: Api, payload: Payload, clients: int) -> list[Row]:
    """On a fresh server: warm both workers with small requests, then watch one big upload
    with Content-MD5 (a streamed PUT) and one without (the writer's parts)."""
    for _ in range(3):
        small_series_api(api, 4 * clients, clients)
    rows = []
    for md5, how in ((True, ""), (False, " without Content-MD5")):
        growth = peak_growth_mib([p.pid for p in server.workers()], lambda md5=md5: api.upload(payload, md5=md5))
        name = f"worker peak RSS growth, {payload.size // MiB} MiB upload{how}, MiB"
        rows.append(Row(name, growth, None, f"<= {RSS_TARGET_MIB} MiB", growth <= RSS_TARGET_MIB))
    return rows


def warm_up(api: Api, raw: Raw, buf: bytearray) -> None:
    """First writes make SeaweedFS grow volumes: do them before timing anything."""
    payload = Payload(2 * BLOCK, buf)
    api.download(api.upload(payload))
    raw.download(raw.upload(payload))
    small_series_api(api, 8, 2)
    small_series_raw(raw, 8, 2)


# -- report -------------------------------------------------------------------------------
def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


def table(rows: list[Row]) -> str:
    lines = [HEADER, "| --- | ---: | ---: | ---: | --- | --- |"]
    for row in rows:
        met = "-" if row.met is None else ("yes" if row.met else "NO")
        lines.append(f"| {row.name} | {_fmt(row.api)} | {_fmt(row.raw)} | {_fmt(row.ratio)} | {row.target} | {met} |")
    return "\n".join(lines)


def context_line(sizes: Sizes, quick: bool, pinned: bool) -> str:
    cores = (f"SeaweedFS pinned to 1 of {os.cpu_count()} CPU cores, client and gunicorn on the others"
             if pinned else f"{os.cpu_count()} CPU core(s) shared by client, gunicorn and SeaweedFS")
    return (f"{'quick (sizes too small for the targets to mean much)' if quick else 'full'} run; "
            f"{cores}; load average at the end {', '.join(f'{x:.2f}' for x in os.getloadavg())}; Python "
            f"{platform.python_version()}; throughput rows: median of {sizes.repeat}, api and raw alternating")


# -- main --------------------------------------------------------------------------------
def pin_store(s3: SeaweedFS) -> None:
    """SeaweedFS on CPU 0, this process (and so gunicorn, started later) on the others."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2 or s3.process is None:
        raise SystemExit("--pin-store needs at least two CPUs")
    os.sched_setaffinity(0, cpus[1:])
    for tid in os.listdir(f"/proc/{s3.process.pid}/task"):  # every thread: the affinity is per thread
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(tid), cpus[:1])


@contextlib.contextmanager
def throwaway_database(url: str) -> Iterator[str]:
    """Create the PostgreSQL database ``url`` names (refused if it exists: never drop someone's),
    yield the URL, drop it at the end."""
    import psycopg  # only for --postgres
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise SystemExit("--postgres: the URL must name a database (lowercase letters, digits, _)")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def postgres_rows(env: dict[str, str], raw: Raw, buf: bytearray, sizes: Sizes, url: str, log: Path) -> list[Row]:
    with throwaway_database(url):
        env = {**env, "DATABASE_URL": url}
        api = Api(0, setup_database(env))
        with gunicorn(env, log) as server:
            api.port = server.port
            warm_up(api, raw, buf)
            rows = progress(small_rows(api, raw, sizes, "PostgreSQL", server))
            return rows + progress(quota_rows(env, api, raw, sizes, "PostgreSQL"))


@contextlib.contextmanager
def store_and_instance(tmp: Path, pinned: bool = False) -> Iterator[tuple[dict[str, str], Api, Raw]]:
    """An embedded SeaweedFS with the real run's defaults, a migrated database with one
    instance: the server's environment, the API client (its port set once gunicorn runs) and
    raw minio on the same bucket."""
    with SeaweedFS(data_dir=tmp / "s3") as s3:
        if pinned:
            pin_store(s3)
        config = s3.config()
        env = server_env(tmp, config.to_url())
        yield env, Api(0, setup_database(env)), Raw(make_client(config), bucket_name(config.bucket_prefix, None))


def run(sizes: Sizes, tmp: Path, pinned: bool = False, postgres: str | None = None,
        only_small: bool = False) -> list[Row]:
    buf = bytearray(os.urandom(BLOCK))
    with store_and_instance(tmp, pinned) as (env, api, raw):
        with gunicorn(env, tmp / "gunicorn.log") as server:
            api.port = server.port
            warm_up(api, raw, buf)
            rows = [] if only_small else progress(big_rows(api, raw, Payload(sizes.big, buf), sizes.repeat))
            rows += progress(small_rows(api, raw, sizes, "SQLite", server))
            rows += progress(quota_rows(env, api, raw, sizes, "SQLite"))
            if not only_small:
                rows += progress(small_read_rows(api, raw, sizes.small_count))
                rows += progress(listing_rows(api, server, sizes.listing, sizes.listings))
        if postgres:
            rows += postgres_rows(env, raw, buf, sizes, postgres, tmp / "gunicorn-pg.log")
        if only_small:
            return rows
        with gunicorn(env, tmp / "gunicorn-rss.log") as server:
            api.port = server.port
            rows += progress(rss_rows(server, api, Payload(sizes.rss_big, buf), sizes.clients))
    return rows


def listing_only(sizes: Sizes, tmp: Path, pinned: bool) -> list[Row]:
    """``--only listing``: the listing rows alone, on a fresh server (a minute, not five)."""
    with store_and_instance(tmp, pinned) as (env, api, _raw):
        with gunicorn(env, tmp / "gunicorn.log") as server:
            api.port = server.port
            return progress(listing_rows(api, server, sizes.listing, sizes.listings))


def progress(rows: list[Row]) -> list[Row]:
    """Rows to stderr as soon as measured: a later failure does not lose them."""
    for row in rows:
        print(f"  {row.name}: api {_fmt(row.api)}, raw {_fmt(row.raw)}", file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not figures")
    parser.add_argument("--repeat", type=int, help="series per throughput row (default 3, quick 1)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    parser.add_argument("--pin-store", action="store_true",
                        help="SeaweedFS on CPU 0, client and gunicorn on the others (a store with its own CPU)")
    parser.add_argument("--only", choices=["listing", "small-uploads"],
                        help="run only these rows: listing, the GET /files/{id} rows; small-uploads, the 1 KiB "
                             "upload rows (SQLite, and PostgreSQL with --postgres)")
    parser.add_argument("--postgres", metavar="URL",
                        help="also run the 1 KiB upload rows on PostgreSQL, in the database this URL names "
                             "(created, then dropped; it must not exist)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.repeat:
        sizes = dataclasses.replace(sizes, repeat=args.repeat)
    tmp = Path(tempfile.mkdtemp(prefix="cozy-bench-"))
    keep = args.keep
    try:
        if args.only == "listing":
            rows = listing_only(sizes, tmp, args.pin_store)
        else:
            rows = run(sizes, tmp, args.pin_store, args.postgres, args.only == "small-uploads")
    except BaseException:
        keep = True  # the gunicorn logs tell why
        raise
    finally:
        if keep:
            print(f"kept {tmp} (gunicorn*.log, s3/weed.log)", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(context_line(sizes, args.quick, args.pin_store))
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
