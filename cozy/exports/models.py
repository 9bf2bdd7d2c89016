"""The record of one export: its state, its zip parts, when it expires."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from cozy.instances.models import Instance


def new_export_id() -> str:
    return uuid.uuid4().hex


class Export(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        EXPIRED = "expired"

    UNFINISHED = (State.QUEUED, State.RUNNING)

    id = models.CharField(primary_key=True, max_length=32, default=new_export_id, editable=False)
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="exports")
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    # The folder of the attempt whose parts are kept: each run writes under a fresh one.
    attempt = models.CharField(max_length=32, blank=True, default="")
    # [{"n": 1, "size": ..., "md5": hex}], set when the export is done.
    parts = models.JSONField(default=list, blank=True)
    files_total = models.BigIntegerField(default=0)  # contents: current ones and kept versions
    files_done = models.BigIntegerField(default=0)
    bytes_total = models.BigIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True, default="")  # sanitized
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # the live runner writes it with its progress
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    cleaned = models.BooleanField(default=False)  # the objects of a failed or expired export were removed

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One export at a time per instance: a second request is refused (409).
            models.UniqueConstraint(
                fields=["instance"], condition=Q(state__in=["queued", "running"]), name="one_running_export"
            ),
        ]

    def __str__(self) -> str:
        return f"export {self.id} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state not in self.UNFINISHED

    @property
    def expired(self) -> bool:
        return self.state == self.State.EXPIRED or self.expires_at <= timezone.now()

    def part_name(self, n: int, attempt: str | None = None) -> str:
        """The part's name in the exports area: ``<export_id>/<attempt>/part-<n>.zip``."""
        return f"{self.id}/{attempt or self.attempt}/part-{n}.zip"


class ImportJob(models.Model):
    """An import requested through the API, run by a worker (the command runs its own)."""

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    UNFINISHED = (State.QUEUED, State.RUNNING)

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="imports")
    source = models.CharField(max_length=2000)  # a manifest URL (holds a token: cleared once finished)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    bytes_total = models.BigIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True, default="")  # sanitized
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance"], condition=Q(state__in=["queued", "running"]), name="one_running_import"
            ),
        ]

    @property
    def finished(self) -> bool:
        return self.state not in self.UNFINISHED
