"""bench_apps --quick runs end to end and prints its rows (figures not judged)."""

import pytest

from tests.test_benchmarks_quick import run_quick

pytestmark = pytest.mark.slow


def test_apps_benchmark():
    stdout, (_, *rows) = run_quick("bench_apps")
    assert stdout.startswith("Release: 202 files")
    assert [row[0] for row in rows] == ["install (s)", "GET a 10 KiB file (req/s)"]
    assert all(float(row[2].split()[0]) > 0 for row in rows)
