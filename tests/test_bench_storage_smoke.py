"""benchmarks/bench_storage.py --quick runs end to end and prints every row of its table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS = [
    "save 1 KiB, ops/s",
    "full read 1 KiB, ops/s",
    "save 8 MiB, MB/s",
    "full read 8 MiB, MB/s",
    "save 24 MiB, MB/s",
    "full read 24 MiB, MB/s",
    "peak RSS growth, 48 MiB unknown-length save, MiB",
    "that save, MB/s (one run each)",
]


def table_rows(stdout: str) -> dict[str, list[str]]:
    """Markdown table rows by their first cell, header and rule left out."""
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0] not in ("row", "---"):
            rows[cells[0]] = cells[1:]
    return rows


def test_quick_run_prints_the_full_table():
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_storage", "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = table_rows(done.stdout)
    assert list(rows) == ROWS, done.stdout
    for name, cells in rows.items():
        raw, vfs, dj, vs_raw, vs_dj, _target, met = cells
        assert all(float(x) > 0 for x in (raw, vfs, dj, vs_raw, vs_dj)), (name, cells)
        assert met in ("yes", "NO", "-")
    assert done.stdout.startswith("quick ")
