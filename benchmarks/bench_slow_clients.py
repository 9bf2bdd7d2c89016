"""Slow clients against the real web server: do other requests still answer, and fast?

    .venv/bin/python -m benchmarks.bench_slow_clients               # 1,000 slow clients per scenario
    .venv/bin/python -m benchmarks.bench_slow_clients --clients 100 --quick
    .venv/bin/python -m benchmarks.bench_slow_clients --server gevent,gthread,uvicorn

One SeaweedFS, one web server, a temporary SQLite database, and this client.
``--server`` chooses the serving model, one run after the other on the same store
and database when several are named:

- ``gevent``: the real run's (cozy.core.web.web_command, what ./scripts/run starts);
- ``gthread``: the model before it, gunicorn's gthread worker, 2 processes of 16 threads;
- ``uvicorn``: uvicorn (h11, 2 processes) with Django's ASGI handler (benchmarks/asgi_app.py),
  cozy's views unchanged, so run by Django in a thread each (sync_to_async).
 For each scenario, ``--clients``
sockets are held open while a second client makes ``GET /files/{id}`` requests
one after another on a keep-alive connection; the baseline is the same GETs in
the same run with no slow client. Scenarios:

- stalled uploads: headers and a few body bytes, then nothing. Afterwards, the
  time until the server has cut all of them (its idle timeout, set here with
  ``--idle-timeout``), and whether anything of them was stored;
- idle keep-alive connections: one GET each, then nothing;
- slow downloads: a 4 MiB file, each client reading 1 KiB a second.

The workers' RSS (sum of VmRSS) is sampled during each scenario, and its peak during
the fast transfers. A server that stops answering is given up on, not waited for:
a scenario's GETs stop after ``GIVE_UP`` errors in a row, and a fast transfer
with no answer in ``FAST_TIMEOUT`` seconds is reported as failed.

In each scenario, once the slow clients are connected and the workers are done
with what they sent, ``--rounds`` fast uploads and downloads of ``--size`` MiB (256
by default; bench_api's client, with ``Content-MD5``, on a second instance) are
timed, and the median kept; the baselines are the same transfers through cozy with
no slow client, and raw minio's on the same SeaweedFS, alternating, in the same run.
The table at the end gives each as a ratio to both (target: at least 0.9x raw).
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import os
import resource
import select
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from benchmarks.bench_api import (
    BLOCK,
    DOMAIN,
    Api,
    Gunicorn,
    Payload,
    Raw,
    add_instance,
    gunicorn,
    server_env,
    setup_database,
    timed,
)
from cozy.core.web import HEADER_TIMEOUT, web_command
from s3util import bucket_name, make_client
from s3util.seaweedfs import SeaweedFS

KiB = 1024
MiB = 1024 * KiB
FAST_DOMAIN = "fast.localhost"
FAST_TARGET = 0.9  # fast transfers beside slow clients, against raw minio without them (issue 14)
GIVE_UP = 3  # GETs failed in a row: the server is down, the rest would only wait out their timeouts
FAST_TIMEOUT = 60  # seconds without an answer to a fast transfer
SERVERS = ("gevent", "gthread", "uvicorn")


def server_command(model: str) -> Callable[[str], list[str]]:
    """``bind -> command`` of each serving model compared (see the module's docstring)."""
    if model == "gevent":
        return web_command
    if model == "gthread":
        return lambda bind: [
            sys.executable, "-m", "gunicorn", "cozy.wsgi:application", "--bind", bind,
            "--worker-class", "gthread", "--workers", "2", "--threads", "16",
            "--timeout", "120", "--graceful-timeout", "10", "--access-logfile", "-",
        ]  # fmt: skip
    if model == "uvicorn":
        return lambda bind: [
            sys.executable, "-m", "uvicorn", "benchmarks.asgi_app:application",
            "--host", bind.split(":")[0], "--port", bind.split(":")[1], "--workers", "2", "--http", "h11",
            "--timeout-keep-alive", str(HEADER_TIMEOUT), "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
    raise ValueError(f"unknown server {model!r}: one of {', '.join(SERVERS)}")


@dataclass
class Latency:
    p50_ms: float
    p99_ms: float
    errors: int
    count: int

    def __str__(self) -> str:
        return f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, {self.errors} errors / {self.count}"


def raise_file_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def gets(port: int, path: str, token: str, count: int) -> Latency:
    """``count`` GETs one after another on one keep-alive connection (a new one after an error)."""
    times, errors, in_a_row = [], 0, 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    headers = {"Host": DOMAIN, "Authorization": f"Bearer {token}"}
    for _ in range(count):
        if in_a_row >= GIVE_UP:
            print(f"  {GIVE_UP} GETs failed in a row: the rest not tried")
            break
        start = time.perf_counter()
        failed = errors
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                errors += 1
        except OSError as err:
            errors += 1
            print(f"  GET failed: {type(err).__name__}: {err}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        in_a_row = in_a_row + 1 if errors > failed else 0
        times.append((time.perf_counter() - start) * 1000)
    conn.close()
    times.sort()
    return Latency(statistics.median(times), times[max(0, int(len(times) * 0.99) - 1)], errors, len(times))


def open_sockets(port: int, count: int, first_bytes: Callable[[int], bytes]) -> list[socket.socket]:
    socks = []
    for n in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(first_bytes(n))
        socks.append(s)
    return socks


def stalled_upload(token: str) -> Callable[[int], bytes]:
    def head(n: int) -> bytes:
        return (f"POST /files/io.cozy.files.root-dir?Type=file&Name=stalled-{n}.bin HTTP/1.1\r\n"
                f"Host: {DOMAIN}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {1024 * KiB}\r\n\r\n").encode() + b"0123456789"

    return head


def idle_keepalive(token: str) -> Callable[[int], bytes]:
    return lambda n: (f"GET /files/io.cozy.files.root-dir HTTP/1.1\r\nHost: {DOMAIN}\r\n"
                      f"Authorization: Bearer {token}\r\n\r\n").encode()


def slow_download(token: str, file_id: str) -> Callable[[int], bytes]:
    return lambda n: (f"GET /files/download/{file_id} HTTP/1.1\r\nHost: {DOMAIN}\r\n"
                      f"Authorization: Bearer {token}\r\n\r\n").encode()


class SlowReaders:
    """Reads 1 KiB a second from each socket, in this thread, between the GETs (see ``tick``)."""

    def __init__(self, socks: list[socket.socket]):
        self.socks, self.next_at = socks, time.monotonic()
        for s in socks:
            s.setblocking(False)

    def tick(self) -> None:
        if time.monotonic() < self.next_at:
            return
        self.next_at += 1
        for s in self.socks:
            try:
                s.recv(KiB)
            except (BlockingIOError, OSError):
                pass


def wait_all_cut(socks: list[socket.socket], deadline_s: float) -> tuple[int, float]:
    """(sockets the server closed or answered, seconds until the last one) within the deadline."""
    start, left = time.monotonic(), set(socks)
    while left and time.monotonic() - start < deadline_s:
        ready, _, _ = select.select(list(left)[:1000], [], [], 1)
        for s in ready:
            try:
                s.setblocking(False)
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data or data.startswith(b"HTTP/1.1 4") or data.startswith(b"HTTP/1.1 5"):
                left.discard(s)
    return len(socks) - len(left), time.monotonic() - start


class PatientApi(Api):
    """bench_api's client, but one that gives up on a server that does not answer."""

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=FAST_TIMEOUT)


Transfers = tuple[float, float] | None  # MB/s up and down; None: failed


@dataclass
class Fast:
    """A fast upload and download through cozy (MB/s), with ``Content-MD5`` as cozy's clients send it."""

    api: Api
    payload: Payload
    rounds: int = 1  # transfers of each kind per figure, the median kept: one alone swings by a third
    doc_id: str = ""

    def once(self) -> tuple[float, float]:
        mb = self.payload.size / 1e6
        up = timed(lambda: setattr(self, "doc_id", self.api.upload(self.payload)))
        down = timed(lambda: _check(self.api.download(self.doc_id), self.payload.size))
        return mb / up, mb / down

    def measure(self) -> tuple[float, float]:
        return medians([self.once() for _ in range(self.rounds)])

    def beside(self, server: Gunicorn) -> tuple[Transfers, float]:
        """``measure`` beside slow clients: (figures or None if it failed, workers' peak RSS in MiB)."""
        with PeakRss(server) as peak:
            try:
                return self.measure(), peak.mib
            except (OSError, RuntimeError) as err:
                print(f"  fast transfer failed: {type(err).__name__}: {err}")
                return None, peak.mib


class PeakRss:
    """The workers' peak RSS (MiB) while the block runs, sampled every 50 ms in a thread."""

    def __init__(self, server: Gunicorn):
        self.server, self.mib, self._done = server, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(0.05):
            try:
                self.mib = max(self.mib, rss_mib(self.server))
            except psutil.Error:
                pass  # a worker just exited

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self._thread.join()


def medians(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def baselines(fast: Fast, raw: Raw) -> tuple[tuple[float, float], tuple[float, float]]:
    """cozy alone and raw minio, ``fast.rounds`` of each, alternating so that drift hits both."""
    pairs = [(fast.once(), raw_transfers(raw, fast.payload)) for _ in range(fast.rounds)]
    return medians([p[0] for p in pairs]), medians([p[1] for p in pairs])


def raw_transfers(raw: Raw, payload: Payload) -> tuple[float, float]:
    mb, key = payload.size / 1e6, ""

    def upload() -> None:
        nonlocal key
        key = raw.upload(payload)

    up = timed(upload)
    return mb / up, mb / timed(lambda: _check(raw.download(key), payload.size))


def _check(got: int, want: int) -> None:
    if got != want:
        raise RuntimeError(f"read {got} bytes, expected {want}")


def fast_table(alone: tuple[float, float], raw: tuple[float, float], beside: dict[str, tuple[Transfers, float]],
               size_mib: int) -> str:
    lines = [f"| {size_mib} MiB transfer | beside | MB/s | cozy alone | raw minio | vs alone | vs raw | "
             "workers' peak RSS, MiB | target | met |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for scenario, (figures, peak) in beside.items():
        for i, what in enumerate(("upload", "download")):
            if figures is None:
                lines.append(f"| {what} | {scenario} | failed | {alone[i]:.0f} | {raw[i]:.0f} | - | - | "
                             f"{peak:.0f} | >= {FAST_TARGET}x raw | NO |")
                continue
            vs_raw = figures[i] / raw[i]
            lines.append(f"| {what} | {scenario} | {figures[i]:.0f} | {alone[i]:.0f} | {raw[i]:.0f} | "
                         f"{figures[i] / alone[i]:.2f} | {vs_raw:.2f} | {peak:.0f} | >= {FAST_TARGET}x raw | "
                         f"{'yes' if vs_raw >= FAST_TARGET else 'NO'} |")
    return "\n".join(lines)


def settle(server: Gunicorn, deadline_s: float = 20) -> None:
    """Wait until the workers are done with what the slow clients just sent (each idle
    keep-alive client's GET, each stalled upload's start): a quarter second in which they
    used under a tenth of it in CPU. The fast transfers then meet slow clients, not a burst."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        before = _cpu_s(server)
        time.sleep(0.25)
        if _cpu_s(server) - before < 0.025:
            return


def _cpu_s(server: Gunicorn) -> float:
    return sum(sum(w.cpu_times()[:2]) for w in workers(server))


def rss_mib(server: Gunicorn) -> float:
    return sum(w.memory_info().rss for w in workers(server)) / (1024 * 1024)


def workers(server: Gunicorn) -> list[psutil.Process]:
    """The processes that serve requests: not multiprocessing's resource tracker (uvicorn's workers are spawned)."""
    return [w for w in server.workers() if "resource_tracker" not in " ".join(w.cmdline())]


def close_all(socks: list[socket.socket]) -> None:
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--gets", type=int, default=500)
    parser.add_argument("--idle-timeout", type=int, default=15, help="COZY_HTTP_IDLE_TIMEOUT of the server")
    parser.add_argument("--size", type=int, default=256, help="MiB of the fast upload and download")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: at most 50 GETs, 16 MiB transfers, 5 s past the idle timeout for the cuts")
    parser.add_argument("--rounds", type=int, default=3,
                        help="fast transfers of each kind per figure (median); 1 with --quick")
    parser.add_argument("--server", default="gevent",
                        help=f"serving model, or several one after the other, comma-separated: {', '.join(SERVERS)}")
    args = parser.parse_args()
    models = args.server.split(",")
    for model in models:
        server_command(model)  # an unknown name fails here, before anything starts
    count = min(50, args.gets) if args.quick else args.gets
    size = 16 if args.quick else args.size
    raise_file_limit()
    with tempfile.TemporaryDirectory(prefix="cozy-bench-slow-") as tmp_name:
        tmp = Path(tmp_name)
        store = SeaweedFS(data_dir=tmp / "weed").start()
        try:
            env = server_env(tmp, store.config().to_url())
            env["COZY_HTTP_IDLE_TIMEOUT"] = str(args.idle_timeout)
            env["ALLOWED_HOSTS"] = f"{DOMAIN},{FAST_DOMAIN}"
            token = setup_database(env)
            # The fast transfers are another family's: the stalled uploads hold all of their own
            # instance's upload slots (COZY_MAX_UPLOADS_PER_INSTANCE), by design.
            fast_token = add_instance(env, FAST_DOMAIN, "fast")
            payload = Payload(size * MiB, bytearray(os.urandom(BLOCK)))
            raw = Raw(make_client(store.config()), bucket_name(store.config().bucket_prefix, None))
            api = PatientApi(0, fast_token, FAST_DOMAIN)  # one for every model: its file names go on
            scenario = Scenario(args.clients, count, args.idle_timeout, 5 if args.quick else 60)
            for model in models:
                with gunicorn(env, tmp / f"{model}.log", server_command(model)) as server:
                    fast = Fast(dataclasses.replace(api, port=server.port), payload, 1 if args.quick else args.rounds)
                    run(server, model, token, scenario, store, fast, raw)
        finally:
            store.stop()


def upload(port: int, token: str, name: str, data: bytes) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", f"/files/io.cozy.files.root-dir?Type=file&Name={name}", body=data,
                 headers={"Host": DOMAIN, "Authorization": f"Bearer {token}", "Content-Type": "text/plain"})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    if resp.status != 201:
        raise RuntimeError(f"upload: HTTP {resp.status} {body[:200]!r}")
    return json.loads(body)["data"]["id"]


def stored_names(store: SeaweedFS) -> int:
    client = make_client(store.config())
    return sum(1 for _ in client.list_objects(bucket_name("cozy", None), recursive=True))


@dataclass
class Scenario:
    clients: int  # slow clients held open
    count: int  # GETs timed
    idle_timeout: int  # seconds, the server's
    cut_grace: int = 60  # seconds past it to wait for the server to cut the stalled uploads


def run(server: Gunicorn, model: str, token: str, sc: Scenario, store: SeaweedFS, fast: Fast, raw: Raw) -> None:
    clients, count, idle_timeout = sc.clients, sc.count, sc.idle_timeout
    file_id = upload(server.port, token, f"target-{model}.txt", b"hello\n")
    big_id = upload(server.port, token, f"big-{model}.bin", b"x" * (4 * 1024 * KiB))
    path = f"/files/{file_id}"
    print(f"\n{model}: {len(workers(server))} workers; {clients} slow clients per scenario; {count} GETs each")
    fast.once()  # warm: SeaweedFS grows its volumes on the first large writes
    raw_transfers(raw, fast.payload)
    alone, raw_alone = baselines(fast, raw)
    beside: dict[str, tuple[Transfers, float]] = {}
    base = gets(server.port, path, token, count)
    print(f"| baseline, no slow client | {base} | RSS {rss_mib(server):.0f} MiB |")
    before = stored_names(store)

    socks = open_sockets(server.port, clients, stalled_upload(token))
    settle(server)
    beside[f"{clients} stalled uploads"] = fast.beside(server)
    before += fast.rounds if beside[f"{clients} stalled uploads"][0] else 0  # the fast uploads' objects
    loaded = gets(server.port, path, token, count)
    rss = rss_mib(server)
    cut, seconds = wait_all_cut(socks, idle_timeout + sc.cut_grace)
    close_all(socks)
    left = stored_names(store) - before
    print(f"| {clients} stalled uploads | {loaded} | RSS {rss:.0f} MiB | {cut}/{clients} cut after "
          f"{seconds:.0f} s (idle timeout {idle_timeout} s); {left} object(s) stored |")

    socks = open_sockets(server.port, clients, idle_keepalive(token))
    settle(server)
    beside[f"{clients} idle keep-alive connections"] = fast.beside(server)
    loaded = gets(server.port, path, token, count)
    print(f"| {clients} idle keep-alive connections | {loaded} | RSS {rss_mib(server):.0f} MiB |")
    close_all(socks)

    socks = open_sockets(server.port, clients, slow_download(token, big_id))
    readers = SlowReaders(socks)
    readers.tick()
    settle(server)
    beside[f"{clients} slow downloads"] = fast.beside(server)
    readers.tick()
    loaded = gets(server.port, path, token, count)
    readers.tick()
    print(f"| {clients} slow downloads (1 KiB/s) | {loaded} | RSS {rss_mib(server):.0f} MiB |")
    close_all(socks)
    print()
    print(f"{model}:")
    print(fast_table(alone, raw_alone, beside, fast.payload.size // MiB))
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
