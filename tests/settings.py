"""Settings for the test suite: the project's settings with a fixed test key."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")

from cozy.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.storage_app"]  # noqa: F405
