"""The Celery app, wired the usual Django way: ``celery -A cozy worker``."""

import logging
import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cozy.settings")
# Celery's Django fixup runs every system check as a worker starts, and the URL checks import
# every view and what they use (ninja, pydantic, Pillow...): some 30 MiB that each worker
# process would hold for nothing. The worker runs the other checks itself (worker_checks);
# the web server and `manage.py check` still run them all.
os.environ.setdefault("CELERY_SKIP_CHECKS", "1")

app = Celery("cozy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def worker_checks(**kwargs: object) -> None:
    """Django's system checks but the URL ones, as Celery would run them (their errors logged)."""
    from django.core import checks

    for check in checks.registry.registry.get_checks():
        if checks.Tags.urls not in getattr(check, "tags", ()):
            for message in check(app_configs=None, databases=None):
                if message.is_serious():
                    logging.getLogger("cozy").error("system check: %s", message)
