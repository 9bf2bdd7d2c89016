"""The Celery app, wired the usual Django way: ``celery -A cozy worker``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cozy.settings")

app = Celery("cozy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
