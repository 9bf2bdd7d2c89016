"""benchmarks/bench_api.py --quick runs end to end through gunicorn and prints every row of its table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS = [
    "16 MiB upload, MB/s",
    "16 MiB download, MB/s",
    "40 x 1 KiB uploads (sequential), req/s",
    "40 x 1 KiB uploads (4 clients), req/s",
    "worker peak RSS growth, 32 MiB upload, MiB",
]


def table_rows(stdout: str) -> dict[str, list[str]]:
    """Markdown table rows by their first cell, header and rule left out."""
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0] not in ("benchmark", "---"):
            rows[cells[0]] = cells[1:]
    return rows


def test_quick_run_prints_the_full_table():
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_api", "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = table_rows(done.stdout)
    assert list(rows) == ROWS, done.stdout
    for name, (api, raw, ratio, _target, met) in rows.items():
        assert float(api) > 0, name
        if name.startswith("worker peak RSS"):
            assert (raw, ratio) == ("-", "-")
        else:
            assert float(raw) > 0 and float(ratio) > 0, name
        assert met in ("yes", "NO", "-")
    assert done.stdout.startswith("quick ")
