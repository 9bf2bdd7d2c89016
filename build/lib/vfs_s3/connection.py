"""One minio client per storage URL, shared by every storage area of a process."""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from minio import Minio

from s3util import FsUrlError, S3Config, make_client, parse_fs_url


def current_url() -> str:
    url = getattr(settings, "COZY_FS_URL", "")
    if not url:
        raise ImproperlyConfigured("COZY_FS_URL is not set: cozy needs an S3 storage URL")
    return url


@functools.lru_cache(maxsize=16)
def config_for(url: str) -> S3Config:
    try:
        return parse_fs_url(url)
    except FsUrlError as err:
        raise ImproperlyConfigured(str(err)) from None


@functools.lru_cache(maxsize=16)
def client_for(url: str) -> Minio:
    return make_client(config_for(url))


def current_config() -> S3Config:
    return config_for(current_url())


def current_client() -> Minio:
    return client_for(current_url())
