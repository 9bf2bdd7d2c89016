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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test shows the page's last requests (tests/test_drive_ui.py watch_network)."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.when in ("call", "teardown"):
        for name in ("page", "worker_page"):
            log = getattr(item.funcargs.get(name), "network_log", None)
            if log:
                report.sections.append((f"the page's last requests ({name})", "\n".join(log)))
