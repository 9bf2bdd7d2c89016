"""The memory of a real Celery worker at rest: its parent and its prefork child.

    .venv/bin/python -m benchmarks.bench_worker_rss

Starts ``celery -A cozy worker --pool prefork -c 1`` on a queue of its own
(SQLite, the filesystem broker, in a temporary folder; no storage is reached),
waits until it is ready, prints each process's VmRSS and the child's Pss (its
pages shared with the parent counted by halves), then stops it. The child is
where tasks run: an export's or an import's growth adds to the child's figure
(bench_exports measures that growth in a process that loads the same modules).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _kib(pid: int, name: str, field: str) -> int:
    for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _child_of(pid: int) -> int | None:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return int(children[0]) if children else None


def measure(tmp: Path, skip_checks: bool) -> str:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="cozy.settings", COZY_VAR_DIR=str(tmp),
               DATABASE_URL=f"sqlite:///{tmp / 'w.sqlite3'}", COZY_FS_URL="s3://127.0.0.1:9?access_key=a&secret_key=b",
               SECRET_KEY="bench-only-" + secrets.token_hex(8), CELERY_BROKER_URL="filesystem://",
               LOG_LEVEL="WARNING", CELERY_SKIP_CHECKS="1" if skip_checks else "")  # fmt: skip
    subprocess.run([sys.executable, "-m", "django", "migrate", "-v", "0"], env=env, check=True)
    log = tmp / f"worker-{skip_checks}.log"
    with log.open("w") as out:
        command = [sys.executable, "-m", "celery", "-A", "cozy", "worker", "--pool", "prefork", "-c", "1", "-Q",
                   f"bench-rss-{secrets.token_hex(4)}", "--without-heartbeat", "--without-mingle", "--without-gossip",
                   "-l", "INFO"]
        worker = subprocess.Popen(command, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 120
        while "ready" not in log.read_text() or _child_of(worker.pid) is None:
            if time.monotonic() > deadline or worker.poll() is not None:
                raise RuntimeError(f"the worker did not start: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        time.sleep(2)  # the child's own start
        child = _child_of(worker.pid)
        assert child is not None
        parent_rss, child_rss = _kib(worker.pid, "status", "VmRSS"), _kib(child, "status", "VmRSS")
        child_pss = _kib(child, "smaps_rollup", "Pss")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
    checks = "without the URL checks (cozy.celery)" if skip_checks else "every Django check (Celery's default)"
    return f"| {checks} | {parent_rss / 1024:.0f} | {child_rss / 1024:.0f} | {child_pss / 1024:.0f} |"


def main() -> int:
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="cozy-bench-worker-") as tmp:
        rows = [measure(Path(tmp), skip_checks) for skip_checks in (True, False)]
    print(f"prefork worker at rest, load average {load[0]:.1f} (a shared machine)")
    print("| worker start | parent VmRSS, MiB | child VmRSS, MiB | child Pss, MiB |\n|---|---:|---:|---:|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
