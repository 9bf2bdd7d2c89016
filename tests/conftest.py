"""Shared fixtures: S3 (tests/s3fixtures.py), a real Celery worker, a real HTTP server."""

import pytest

from cozy.instances import lookup_cache

pytest_plugins = ["tests.s3fixtures", "tests.worker", "tests.httpserver"]


@pytest.fixture(autouse=True)
def _forget_lookups():
    """Each test starts with this process's lookup cache empty: the rows it remembers (a Host's
    instance, a token's) belong to the previous test, whose database was emptied without a signal."""
    for cache in (lookup_cache.instances, lookup_cache.tokens, lookup_cache.unrefused):
        cache.clear()
