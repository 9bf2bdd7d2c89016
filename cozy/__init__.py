"""cozy: a personal cloud whose user data lives on S3-compatible storage.

The Celery app (cozy.celery) is loaded by cozy.core's AppConfig, not here: the
web server's master imports its gevent worker from this package before the
worker patches the standard library, and must not bring in ssl or urllib3.
"""
