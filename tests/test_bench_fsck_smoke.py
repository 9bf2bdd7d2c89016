"""The fsck benchmark's --quick mode runs and prints every row of its table."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT_DIR = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_bench_fsck_quick():
    out = subprocess.run([sys.executable, "-m", "benchmarks.bench_fsck", "--quick"], cwd=ROOT_DIR,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line for line in out.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| measure | files |")
    measures = [row.split("|")[1].strip() for row in rows[2:]]
    assert measures == ["time", "peak RSS", "time", "peak RSS", "fsck RSS 1,000 vs 300"]
    assert all("x |" in row or "% |" in row for row in rows[2:])
