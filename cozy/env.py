"""Read settings from the environment, failing with one line instead of a traceback."""

from __future__ import annotations

import os
import sys

from s3util.config import FsUrlError, S3Config, parse_fs_url


def flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def fail(message: str) -> None:
    """Stop start-up with a one-line message (exit status 2)."""
    sys.stderr.write(f"cozy: {message}\n")
    raise SystemExit(2)


def fs_config(url: str | None) -> S3Config | None:
    """Validate COZY_FS_URL at start-up; None when it is not set (yet)."""
    if not url:
        return None
    try:
        return parse_fs_url(url)
    except FsUrlError as err:
        fail(f"COZY_FS_URL: {err}")
    return None
