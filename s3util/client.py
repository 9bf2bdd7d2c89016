"""Build a ``minio.Minio`` client from an :class:`S3Config`."""

from __future__ import annotations

import urllib3
from minio import Minio

from s3util.config import S3Config

# Enough connections for parallel part uploads from several threads at once.
_POOL_SIZE = 32


def make_http_client(*, connect_timeout: float = 10, read_timeout: float = 300) -> urllib3.PoolManager:
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        maxsize=_POOL_SIZE,
        retries=urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )


def make_client(config: S3Config, *, http_client: urllib3.PoolManager | None = None) -> Minio:
    client = Minio(
        config.endpoint,
        access_key=config.access_key,
        secret_key=config.secret_key,
        secure=config.use_ssl,
        region=config.region,
        http_client=http_client or make_http_client(),
    )
    if config.path_style:
        client.disable_virtual_style_endpoint()
    else:
        client.enable_virtual_style_endpoint()
    return client
