"""Settings for the test suite: the project's settings with a fixed test key."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")

from cozy.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.storage_app"]  # noqa: F405

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not memory: threads and child processes of the tests share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}  # noqa: F405

# Whitenoise warns at start-up when its directory is missing; the tests serve static files through finders.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405

# The suite sends many bad tokens and passwords from one address on purpose; the throttle's
# own tests (tests/test_throttle.py) set their limits.
if not os.environ.get("COZY_TEST_THROTTLE"):  # set by the tests that start gunicorn with their own limits
    COZY_THROTTLE = {k: {**p, "free": 10_000, "limit": 10_000} for k, p in COZY_THROTTLE.items()}  # noqa: F405
