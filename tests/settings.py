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
