"""cozy: a personal cloud whose user data lives on S3-compatible storage."""

from cozy.celery import app as celery_app

__all__ = ["celery_app"]
