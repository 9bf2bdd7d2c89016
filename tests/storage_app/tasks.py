"""A task for checking that the test worker runs on the test database."""

from celery import shared_task


@shared_task
def create_document(title: str) -> int:
    from tests.storage_app.models import Document

    return Document.objects.create(title=title, file="none").pk
