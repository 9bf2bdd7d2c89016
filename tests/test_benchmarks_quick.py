"""Each benchmark's --quick mode runs end to end and prints every row of its table.

The figures themselves are not judged here (the machine may be busy); the tables must be
complete and hold numbers, so a broken benchmark is seen before anyone needs its figures.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def run_quick(module: str, timeout: int = 180) -> tuple[str, list[list[str]]]:
    """Run ``python -m benchmarks.<module> --quick``; its stdout and its table's body rows."""
    done = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    table = [[c.strip() for c in line.strip().strip("|").split("|")]
             for line in done.stdout.splitlines() if line.startswith("|")]  # fmt: skip
    assert len(table) > 2 and set(table[1][0]) <= set("-: "), done.stdout  # a header, a rule, rows
    return done.stdout, [table[0], *table[2:]]


def test_storage_benchmark():
    stdout, (_, *rows) = run_quick("bench_storage")
    assert stdout.startswith("quick ")
    assert [row[0] for row in rows] == [
        "save 1 KiB, ops/s",
        "full read 1 KiB, ops/s",
        "save 8 MiB, MB/s",
        "full read 8 MiB, MB/s",
        "save 24 MiB, MB/s",
        "full read 24 MiB, MB/s",
        "peak RSS growth, 48 MiB unknown-length save, MiB",
        "that save, MB/s (one run each)",
    ]
    for name, raw, vfs, dj, vs_raw, vs_dj, _target, met in rows:
        assert all(float(x) > 0 for x in (raw, vfs, dj, vs_raw, vs_dj)), name
        assert met in ("yes", "NO", "-")


def test_api_benchmark():
    stdout, (_, *rows) = run_quick("bench_api")
    assert stdout.startswith("quick ")
    assert [row[0] for row in rows] == [
        "16 MiB upload, MB/s",
        "16 MiB upload without Content-MD5 (cozy hashes), MB/s",
        "16 MiB download, MB/s",
        "40 x 1 KiB uploads (sequential, SQLite), req/s",
        "40 x 1 KiB uploads (sequential, SQLite), worker CPU ms",
        "40 x 1 KiB uploads (4 clients, SQLite), req/s",
        "40 x 1 KiB uploads (4 clients, SQLite), worker CPU ms",
        "20 x 1 KiB uploads (sequential, SQLite, a quota, 500 files), req/s",
        "40 x 1 KiB downloads (sequential), req/s",
        "40 x 1 KiB downloads (sequential), p50 ms",
        "40 x 1 KiB downloads (sequential), p99 ms",
        "GET /files/{id} of a directory of 40 files (one page), req/s",
        "GET /files/{id} of a directory of 40 files (one page), p50 ms",
        "GET /files/{id} of a directory of 40 files (one page), p99 ms",
        "GET /files/{id} of a directory of 40 files (one page), worker CPU ms",
        "GET /files/{id} of a directory of 40 photos (one page), req/s",
        "GET /files/{id} of a directory of 40 photos (one page), p50 ms",
        "GET /files/{id} of a directory of 40 photos (one page), p99 ms",
        "GET /files/{id} of a directory of 40 photos (one page), worker CPU ms",
        "worker peak RSS growth, 32 MiB upload, MiB",
        "worker peak RSS growth, 32 MiB upload without Content-MD5, MiB",
    ]
    for name, api, raw, ratio, _target, met in rows:
        assert float(api) > 0, name
        if name.startswith(("worker peak RSS", "GET /files/{id}")) or name.endswith("worker CPU ms"):
            assert (raw, ratio) == ("-", "-")
        else:
            assert float(raw) > 0 and float(ratio) > 0, name
        assert met in ("yes", "NO", "-")


def test_fsck_benchmark():
    _, (header, *rows) = run_quick("bench_fsck", timeout=120)
    assert header[:2] == ["measure", "files"]
    assert [row[0] for row in rows] == [
        "time", "peak RSS", "time", "peak RSS", "time, 4 shards in threads", "fsck RSS 1,000 vs 300",
    ]  # fmt: skip
    assert all(row[4].endswith(("x", "%")) for row in rows), rows  # the ratio column


def test_deletion_benchmark():
    _, (header, *rows) = run_quick("bench_deletion", timeout=120)
    assert header[0] == "method"
    names = [row[0] for row in rows]
    assert names[:2] == ["cozy deletion job", "raw batched DeleteObjects"]
    assert names[2].startswith("one DELETE per key") and names[3].startswith("listing alone")


def test_mango_benchmark():
    stdout, (_, *rows) = run_quick("bench_mango")
    assert stdout.startswith("quick ")
    assert len(rows) == 8
    for name, files, matches, longest, whole, _target, met in rows:
        assert int(files.replace(",", "")) == 2000 and int(matches.replace(",", "")) > 0, name
        assert float(longest.split()[0]) >= 0 and float(whole.split()[0]) > 0, name
        assert met in ("yes", "NO")


@pytest.mark.skipif(not (Path("/usr/bin/convert").is_file() and Path("/usr/bin/time").is_file()),
                    reason="needs ImageMagick and GNU time (Debian: imagemagick, time)")
def test_thumbnails_benchmark():
    stdout, (header, *rows) = run_quick("bench_thumbnails")
    assert stdout.startswith("quick ")
    assert header[0] == "measure" and len(header) == 7
    assert [row[0].split(",")[0] for row in rows] == [
        "wall time per photo", "wall time per photo", "CPU time per photo", "four thumbnails", "peak RSS",
    ]  # fmt: skip
    for name, cozy, stack, one, _ratio, _target, met in rows[:4]:
        assert float(cozy) > 0 and float(stack) > 0 and float(one) > 0, name
        assert met in ("yes", "NO", "-")
    assert rows[-1][-1] in ("yes", "NO")


def test_exports_benchmark():
    stdout, (header, *rows) = run_quick("bench_exports", timeout=300)
    assert stdout.startswith("quick ")
    assert header[0] == "what"
    assert [row[0].split(" (")[0] for row in rows] == [
        "cozy export", "raw copy into a zip", "cozy import", "raw unzip copy",
        "export worker peak RSS, MiB", "import worker peak RSS, MiB",
    ]
    for name, contents, mib, seconds, rate, ratio, _target, met in rows[:4]:
        assert int(contents.replace(",", "")) == 200 and float(mib) > 0 and float(seconds) > 0 and float(rate) > 0
        assert (ratio.endswith("x") and met in ("yes", "NO")) if name.startswith("cozy") else ratio == met == ""
    for _name, _contents, peak, *_, met in rows[4:]:
        assert float(peak) > 0 and met in ("yes", "NO")


def test_archive_benchmark():
    stdout, (_, *rows) = run_quick("bench_archive")
    assert stdout.startswith("quick ")
    assert [row[0] for row in rows] == ["zip of 4 files, 32 MiB (POST /files/archive), MB/s",
                                        "worker peak RSS growth while that zip is sent, MiB"]
    (_, api, raw, ratio, _, _), (_, growth, *_ignored) = rows
    assert float(api) > 0 and float(raw) > 0 and float(ratio) > 0
    assert float(growth) >= 0


def test_slow_clients_benchmark_on_uvicorn():
    """The serving-model option, on the model furthest from the real run's (ASGI)."""
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_slow_clients", "--quick", "--clients", "20",
                           "--idle-timeout", "2", "--gets", "20", "--server", "uvicorn"], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in done.stdout.splitlines() if line.startswith("|")]  # fmt: skip
    assert [row[0] for row in rows[:4]] == [
        "baseline, no slow client", "20 stalled uploads", "20 idle keep-alive connections",
        "20 slow downloads (1 KiB/s)",
    ]  # fmt: skip
    assert all(" errors / " in row[1] and row[2].startswith("RSS ") for row in rows[:4]), rows
    assert rows[1][3].endswith("0 object(s) stored"), rows[1]  # cut or not, a stalled upload stores nothing
    fast = rows[6:]  # after the fast table's header and rule
    assert [(row[0], row[1]) for row in fast] == [
        (what, f"20 {beside}") for beside in ("stalled uploads", "idle keep-alive connections", "slow downloads")
        for what in ("upload", "download")
    ]  # fmt: skip
    assert all(float(row[4]) > 0 and row[-1] in ("yes", "NO") for row in fast), fast
