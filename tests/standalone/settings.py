"""A minimal Django project that uses the installed backend, as any project would."""

import tempfile
from pathlib import Path

SECRET_KEY = "standalone-test-only"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "tests.storage_app"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": str(Path(tempfile.gettempdir()) / "vfs-standalone.sqlite3")}}
COZY_FS_URL = ""  # set per test by the fs_url fixture
STORAGES = {
    "default": {"BACKEND": "vfs_s3.storage.S3Storage", "OPTIONS": {"auto_create_bucket": True}},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
