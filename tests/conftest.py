"""Shared fixtures: S3 (tests/s3fixtures.py), a real Celery worker, a real HTTP server."""

pytest_plugins = ["tests.s3fixtures", "tests.worker", "tests.httpserver"]
