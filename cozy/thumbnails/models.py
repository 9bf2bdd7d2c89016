"""The thumbnails or the preview of a content while they are not there: queued,
running, or failed and why.

A row exists only for contents whose thumbnails (kind ``thumbs``) or PDF preview
(kind ``preview``) were missing when asked for, are being made, or could not be
made; it goes once they are made, or with the content. It keeps the routes from
trying the same content on every request, with backoff, and a worker that starts
re-queues the jobs a killed worker left ``running``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

from cozy.instances.models import Instance

# A content may be queued again after this, doubled for every attempt; never after a
# permanent failure (a bomb, a corrupt file, over the size limit).
REQUEUE_AFTER = timedelta(minutes=5)


class ThumbnailJob(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        FAILED = "failed"

    class Kind(models.TextChoices):
        THUMBS = "thumbs"
        PREVIEW = "preview"

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="+")
    file_id = models.CharField(max_length=64)
    content_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.THUMBS)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    reason = models.CharField(max_length=16, blank=True, default="")  # cozy.thumbnails.errors, or "storage"
    detail = models.CharField(max_length=255, blank=True, default="")
    permanent = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instance", "content_id", "kind"], name="thumb_job_per_content_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.file_id}/{self.content_id}: {self.state} {self.reason}".strip()

    def next_try(self) -> datetime | None:
        """When this content may be tried again; None after a permanent failure."""
        if self.permanent:
            return None
        return self.updated_at + REQUEUE_AFTER * 2 ** min(self.attempts - 1, 10)

    def may_queue(self) -> bool:
        at = self.next_try()
        return at is not None and timezone.now() >= at


class Preview(models.Model):
    """A PDF preview stored in the previews area, and when it was last served (for the sweeper)."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="+")
    file_id = models.CharField(max_length=64)
    content_id = models.CharField(max_length=64)
    last_used = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["instance", "content_id"], name="preview_per_content")]

    def __str__(self) -> str:
        return f"preview {self.file_id}/{self.content_id}"
