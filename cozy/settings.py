"""Settings for cozy, read from the environment (see docs/s3.md)."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

from cozy.env import fail, flag, fs_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("COZY_VAR_DIR", BASE_DIR / "var"))

DEBUG = flag("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY and (VAR_DIR / "secret_key").is_file():
    # The key scripts/run made: manage.py commands next to the embedded run share it.
    SECRET_KEY = (VAR_DIR / "secret_key").read_text().strip()
if not SECRET_KEY:
    if not DEBUG and not flag("COZY_INSECURE_DEV_KEY"):
        fail("SECRET_KEY is not set (scripts/run sets one for local use)")
    SECRET_KEY = "insecure-dev-key-change-me"
_hosts = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,.localhost")
ALLOWED_HOSTS = [h.strip() for h in _hosts.split(",") if h.strip()]

# The storage URL; validated here so a malformed one stops start-up at once.
COZY_FS_URL = os.environ.get("COZY_FS_URL", "")
if not COZY_FS_URL and (VAR_DIR / "fs_url").is_file():
    # Written by a running embedded cloud (scripts/run): manage.py commands reach its SeaweedFS.
    COZY_FS_URL = (VAR_DIR / "fs_url").read_text().strip()
fs_config(COZY_FS_URL)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "cozy.core",
    "cozy.storage",
    "cozy.instances",
    "cozy.files",
    "cozy.thumbnails",
    "cozy.avatars",
    "cozy.exports",
    "cozy.apps",
    "cozy.drive",
    "cozy.fsck",
    "cozy.deletion",
]

MIDDLEWARE = [
    "cozy.core.middleware.HeadAsGetMiddleware",  # first: it sees the final response
    "cozy.core.middleware.FrameworkErrorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "cozy.core.middleware.StrictTextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "cozy.drive.login_throttle.LoginThrottleMiddleware",
    "cozy.apps.hosts.AppHostMiddleware",  # resolves the instance (or app) of the Host in one query
    "cozy.instances.middleware.InstanceMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "cozy.urls"
CSRF_FAILURE_VIEW = "cozy.core.views.csrf_failure"  # JSON:API for API clients, Django's page for browsers
WSGI_APPLICATION = "cozy.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'cozy.sqlite3'}",
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Concurrent uploads and a worker share the file: wait for locks instead of failing.
    # IMMEDIATE transactions take the write lock up front, so concurrent writers wait
    # for each other instead of failing with "database is locked" on upgrade.
    # WAL lets readers and the one writer go on together. synchronous=FULL (the default)
    # syncs every commit: an upload answered 201 survives a power cut. NORMAL syncs at
    # checkpoints only: no corruption, but a power cut may lose answered uploads, whose
    # objects fsck would then treat as orphans (docs/s3.md), so it is opt-in.
    synchronous = "NORMAL" if os.environ.get("COZY_SQLITE_SYNCHRONOUS", "").upper() == "NORMAL" else "FULL"
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=30, transaction_mode="IMMEDIATE",
        init_command=f"PRAGMA journal_mode=WAL; PRAGMA synchronous={synchronous};",
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["ENGINE"] = "cozy.core.sqlite3"  # waits for the write lock without blocking gevent

if DATABASES["default"]["ENGINE"].endswith("postgresql") and os.environ.get("COZY_DB_POOL"):
    # The web server (cozy.core.gevent_worker sets COZY_DB_POOL) serves each connection in a
    # greenlet: without a pool, a thousand keep-alive clients would each keep a database
    # connection. Requests take one from this pool and give it back at their end.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1, "max_size": int(os.environ.get("COZY_DB_POOL_SIZE", "10")), "timeout": 30,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
LOGIN_URL = "/auth/login"

# Guessing limits (cozy.instances.throttle, docs/security.md): per account and per client
# address for logins, per client address for bearer tokens.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # In the database: every gunicorn worker (and host) shares the counts; migrate makes the table.
    "throttle": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cozy_throttle"},
}
# Seconds each process remembers a request's instance, token and unrefused address
# (cozy/instances/lookup_cache.py): a revoked token or a deleted instance is refused
# within this bound everywhere, at once in the process that changed it. 0: no cache.
COZY_LOOKUP_CACHE_TTL = float(os.environ.get("COZY_LOOKUP_CACHE_TTL", "5"))
# SQLite connections each process keeps open between requests, for the next ones
# (cozy/core/sqlite3/idle.py): a connection costs more to open than a small upload's
# queries. 0: every request opens and closes its own.
COZY_SQLITE_IDLE_CONNECTIONS = int(os.environ.get("COZY_SQLITE_IDLE_CONNECTIONS", "8"))
COZY_THROTTLE = {
    "login": {
        "free": int(os.environ.get("COZY_LOGIN_FREE_FAILURES", "5")),
        "limit": int(os.environ.get("COZY_LOGIN_MAX_FAILURES", "10")),
        "window": int(os.environ.get("COZY_LOGIN_LOCKOUT_SECONDS", "900")),
        "max_delay": 4.0,
    },
    "token": {
        "free": int(os.environ.get("COZY_TOKEN_FREE_FAILURES", "10")),
        "limit": int(os.environ.get("COZY_TOKEN_MAX_FAILURES", "30")),
        "window": int(os.environ.get("COZY_TOKEN_LOCKOUT_SECONDS", "900")),
        "max_delay": 2.0,
    },
}
COZY_LOGIN_PATHS = ("/auth/login", "/admin/login/")
# The client address when behind a reverse proxy that sets it, e.g. HTTP_X_REAL_IP (WSGI name).
COZY_CLIENT_IP_HEADER = os.environ.get("COZY_CLIENT_IP_HEADER", "")

# Uploads stream straight to S3: Django must not buffer request bodies.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_HANDLERS: list[str] = []

# Celery: Redis (or any broker) when CELERY_BROKER_URL says so; otherwise an
# embedded filesystem broker that needs no server.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _d in (_broker_dir, VAR_DIR / "broker-control"):
        _d.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(VAR_DIR / "broker-control"),
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A job whose worker died is handed out again after this many seconds.
    _visibility = int(os.environ.get("COZY_CELERY_VISIBILITY_TIMEOUT", "3600"))
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": _visibility}
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("COZY_CELERY_QUEUE", "celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Periodic jobs, for `celery -A cozy beat` (or a worker started with -B, as scripts/run does).
CELERY_BEAT_SCHEDULE = {
    "remove-expired-exports": {"task": "cozy.exports.tasks.remove_expired_exports", "schedule": 3600.0},
    "sweep-previews": {"task": "cozy.thumbnails.tasks.sweep_previews", "schedule": 6 * 3600.0},
    "apps-gc": {"task": "cozy.apps.tasks.collect_releases", "schedule": 3600.0},
}

# How many previous contents a file keeps; older versions are pruned on overwrite.
COZY_MAX_VERSIONS = int(os.environ.get("COZY_MAX_VERSIONS", "20"))
# Concurrent uploads per web worker process, and per instance in it (cozy/files/slots.py).
COZY_MAX_UPLOADS = int(os.environ.get("COZY_MAX_UPLOADS", "64"))
COZY_MAX_UPLOADS_PER_INSTANCE = int(os.environ.get("COZY_MAX_UPLOADS_PER_INSTANCE", "16"))
# Large downloads moved by splice(2) from the store's socket to the client's (cozy/files/splice.py).
COZY_DOWNLOAD_SPLICE = flag("COZY_DOWNLOAD_SPLICE", True)
# A download whose client takes nothing for this many seconds lets go of its GET on the store,
# and resumes with a ranged GET when the client reads again (cozy/files/relay.py); 0: never.
COZY_DOWNLOAD_RELEASE_AFTER = float(os.environ.get("COZY_DOWNLOAD_RELEASE_AFTER", "2"))

# Thumbnails (cozy/thumbnails/limits.py): sources over this size, this many pixels or
# this many seconds get no thumbnails (recorded, never failing the upload).
COZY_THUMBS_MAX_BYTES = int(os.environ.get("COZY_THUMBS_MAX_BYTES", str(100 * 1024 * 1024)))
COZY_THUMBS_MAX_PIXELS = int(os.environ.get("COZY_THUMBS_MAX_PIXELS", "89478485"))
COZY_THUMBS_TIME_LIMIT = float(os.environ.get("COZY_THUMBS_TIME_LIMIT", "30"))
# Tests only: a pause after each stored thumbnail, so a test can kill a worker mid-job.
COZY_THUMBS_PAUSE_MS = int(os.environ.get("COZY_THUMBS_PAUSE_MS", "0"))
# PDF previews (cozy/thumbnails/previews.py) not served for this many days are removed.
COZY_PREVIEWS_MAX_AGE = int(os.environ.get("COZY_PREVIEWS_MAX_AGE", "30"))
# PUT /settings/avatar: bodies over this many bytes (counted as they arrive) get 413.
COZY_AVATAR_MAX_BYTES = int(os.environ.get("COZY_AVATAR_MAX_BYTES", str(20 * 1024 * 1024)))
# Hosts and networks (comma-separated) that owners' app sources may reach though not public,
# such as a registry on the LAN (cozy/apps/reach.py); by default only public addresses.
COZY_APPS_SOURCE_ALLOW = [e for e in os.environ.get("COZY_APPS_SOURCE_ALLOW", "").replace(" ", ",").split(",") if e]

# Behind a TLS-terminating proxy (production): COZY_HTTPS=true turns on the
# secure cookies, the HTTPS redirect and HSTS that `check --deploy` asks for.
if flag("COZY_HTTPS"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = flag("COZY_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("COZY_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = flag("COZY_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = flag("COZY_HSTS_PRELOAD", False)
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"one_line_host": {"()": "cozy.core.logs.OneLineDisallowedHost"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
        # urllib3's retry warnings quote request paths (bucket and key): keep them out of logs.
        "urllib3": {"level": "CRITICAL"},
        # A bad Host is logged with a traceback quoting it: one fixed line instead.
        "django.security.DisallowedHost": {"filters": ["one_line_host"]},
    },
}
