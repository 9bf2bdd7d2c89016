"""S3 endpoints for the tests, chosen by COZY_TEST_S3.

- ``seaweedfs`` (default): SeaweedFS as a child process, signatures checked.
- ``moto``: moto's standalone server, a second, independent S3 implementation.
- ``ceph``: a throwaway Ceph cluster (monitor, memstore OSD, radosgw) from Debian's packages.
- ``minio``: MinIO through testcontainers; needs a Docker engine.
- ``url:<storage URL>``: an existing endpoint.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from s3util import S3Config, parse_fs_url
from s3util.ceph import PACKAGES, Ceph, missing_binaries
from s3util.seaweedfs import SeaweedFS, free_ports


def docker_available() -> bool:
    try:
        import docker

        docker.from_env().ping()
        return True
    except Exception:  # noqa: BLE001 - any failure means "no engine"
        return False


@contextmanager
def seaweedfs_server() -> Iterator[tuple[S3Config, SeaweedFS]]:
    server = SeaweedFS().start()
    try:
        yield server.config(), server
    finally:
        server.stop()


@contextmanager
def moto_server() -> Iterator[tuple[S3Config, None]]:
    (port,) = free_ports(1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1).close()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.2)
        yield (
            S3Config("127.0.0.1", port, "motokey", "motosecret", use_ssl=False, path_style=True),
            None,
        )
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def ceph_server() -> Iterator[tuple[S3Config, Ceph]]:
    if missing := missing_binaries():
        pytest.skip(f"COZY_TEST_S3=ceph needs Ceph's binaries ({', '.join(missing)} not found): "
                    f"apt-get install --no-install-recommends {PACKAGES}")
    with Ceph() as server:
        yield server.config(), server


@contextmanager
def minio_server() -> Iterator[tuple[S3Config, None]]:
    if not docker_available():
        pytest.skip("COZY_TEST_S3=minio needs a Docker engine, and none answers on this machine")
    from testcontainers.minio import MinioContainer

    with MinioContainer() as minio:
        conf = minio.get_config()
        host, port = conf["endpoint"].rsplit(":", 1)
        yield (
            S3Config(host, int(port), conf["access_key"], conf["secret_key"], use_ssl=False),
            None,
        )


def server_kind() -> str:
    """The server the tests run against: COZY_TEST_S3, SeaweedFS by default."""
    return os.environ.get("COZY_TEST_S3", "seaweedfs")


def signatures_checked() -> bool:
    """moto's server accepts any credentials (tests/test_s3_provider_facts.py shows it)."""
    return server_kind() != "moto"


@contextmanager
def s3_endpoint(kind: str | None = None) -> Iterator[tuple[S3Config, object]]:
    kind = kind or server_kind()
    if kind == "seaweedfs":
        manager = seaweedfs_server()
    elif kind == "moto":
        manager = moto_server()
    elif kind == "ceph":
        manager = ceph_server()
    elif kind == "minio":
        manager = minio_server()
    elif kind.startswith("url:"):
        manager = _existing(parse_fs_url(kind[4:]))
    else:
        raise pytest.UsageError(f"COZY_TEST_S3={kind!r}: use seaweedfs, moto, ceph, minio or url:<storage URL>")
    with manager as endpoint:
        yield endpoint


@contextmanager
def _existing(config: S3Config) -> Iterator[tuple[S3Config, None]]:
    yield config, None
