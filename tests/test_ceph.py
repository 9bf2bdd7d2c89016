"""The throwaway Ceph cluster: it serves signed S3 requests and stop() leaves no daemon running."""

from __future__ import annotations

import dataclasses
import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from minio.error import S3Error

from s3util import make_client
from s3util.ceph import PACKAGES, Ceph, missing_binaries

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(bool(missing_binaries()),
                                reason=f"Ceph's binaries are missing: apt-get install {PACKAGES}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0): look at its state.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_serves_signed_put_and_get_then_stops_every_daemon(tmp_path):
    server = Ceph(data_dir=tmp_path / "ceph").start()
    try:
        pid_files = server.pid_files()
        assert set(pid_files) == {"mon.a", "osd.0", "rgw"}
        pids = {name: int(path.read_text()) for name, path in pid_files.items()}
        assert pids == {name: proc.pid for name, proc in server.processes.items()}
        assert all(_alive(pid) for pid in pids.values())

        client = make_client(server.config())
        client.make_bucket("launcher-check")
        body = os.urandom(100_000)
        client.put_object("launcher-check", "a/b", io.BytesIO(body), len(body))
        assert client.get_object("launcher-check", "a/b").read() == body

        wrong = make_client(dataclasses.replace(server.config(), secret_key="not-the-secret"))
        with pytest.raises(S3Error) as info:
            wrong.get_object("launcher-check", "a/b")
        assert info.value.code == "SignatureDoesNotMatch"
        unknown = make_client(dataclasses.replace(server.config(), access_key="nobody"))
        with pytest.raises(S3Error) as info:
            unknown.list_buckets()
        assert info.value.code == "InvalidAccessKeyId"
    finally:
        server.stop()
    assert not any(_alive(pid) for pid in pids.values())
    assert not any(path.exists() for path in pid_files.values())
    assert server.processes == {}


def test_a_daemon_that_will_not_stop_is_killed(tmp_path):
    server = Ceph(data_dir=tmp_path / "ceph").start()
    rgw = server.processes["rgw"]
    os.kill(rgw.pid, 19)  # SIGSTOP: SIGTERM stays pending, so only SIGKILL ends it
    server.stop(grace=0.5)
    assert rgw.returncode == -9
    assert not _alive(rgw.pid)


def test_temporary_folder_is_removed():
    server = Ceph().start()
    folder = server.data_dir
    assert folder is not None and (folder / "ceph.conf").exists()
    server.stop()
    assert not folder.exists()


@pytest.mark.slow
def test_storage_benchmark_runs_on_ceph():
    """``bench_storage --server ceph`` (figures in docs/benchmarks.md) stays runnable: every row, numbers in it."""
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_storage", "--quick", "--server", "ceph"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "shared by client and Ceph" in done.stdout.splitlines()[0]
    rows = [line.strip("|").split("|") for line in done.stdout.splitlines() if line.startswith("| ")][2:]
    assert len(rows) == 8 and all(float(cell) >= 0 for row in rows for cell in row[1:4])


def _median_small_get_ms(server: Ceph) -> float:
    client = make_client(server.config())
    client.make_bucket("latency")
    client.put_object("latency", "k", io.BytesIO(b"x" * 1024), 1024)
    times = []
    for _ in range(15):
        start = time.perf_counter()
        resp = client.get_object("latency", "k")
        assert resp.read() == b"x" * 1024
        resp.release_conn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def test_small_gets_wait_for_a_delayed_ack_unless_tcp_nodelay(tmp_path):
    """The fact behind docs/s3.md's tcp_nodelay advice: beast's default makes every small GET wait ~40 ms."""
    with Ceph(data_dir=tmp_path / "nagle", tcp_nodelay=False) as server:
        nagle = _median_small_get_ms(server)
    with Ceph(data_dir=tmp_path / "nodelay") as server:
        nodelay = _median_small_get_ms(server)
    assert nagle > 30 > nodelay, (nagle, nodelay)
