"""The test harness's Celery worker really consumes from the broker and writes to the test database."""

import time

import pytest

from tests.storage_app.models import Document
from tests.storage_app.tasks import create_document


@pytest.mark.django_db(transaction=True)
def test_worker_runs_tasks_on_the_test_database(celery_worker):
    create_document.delay("from the worker")
    deadline = time.monotonic() + 30
    while not Document.objects.filter(title="from the worker").exists():
        assert time.monotonic() < deadline, celery_worker.log()[-2000:]
        time.sleep(0.2)
