"""A Celery worker loads its tasks without the web framework or the image libraries.

The worker's memory at rest is most of an export's or an import's peak RSS (docs/benchmarks.md,
"Exports and imports"): django-ninja with pydantic, Pillow and pdfium weigh tens of MiB, so one
stray import from a module the tasks share undoes the target. This loads what a worker loads,
in a fresh interpreter, and names what it must not have loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ["ninja", "pydantic", "PIL", "pillow_heif", "pypdfium2"]

LOAD = f"""
import json, sys, django
django.setup()
from cozy.celery import app, worker_checks
app.loader.import_default_modules()
worker_checks()
import cozy.exports.imports, cozy.exports.runner
print(json.dumps(sorted(name for name in {HEAVY!r} if name in sys.modules)))
"""


def test_a_worker_loads_no_web_framework_and_no_image_library():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cozy.settings", "SECRET_KEY": "worker-imports",
           "COZY_FS_URL": "s3://127.0.0.1:9?access_key=a&secret_key=b"}
    done = subprocess.run([sys.executable, "-c", LOAD], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
