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
    """An import, run by a worker (API) or by the command; resumable and revocable until done.

    ``contents`` lists the names (in the files area) that the import writes, in order; the first
    ``pieces_done`` of them were written and verified by the store. A resume of the same archive
    (same ``plan_digest``) skips those; a rollback removes them (those the index does not hold).
    """

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        STOPPED = "stopped"  # failed half-way (storage, network, killed): resume it or roll it back
        ROLLING_BACK = "rolling_back"  # its objects are being removed (it still blocks another import)
        DONE = "done"
        FAILED = "failed"  # refused, and rolled back
        ROLLED_BACK = "rolled_back"

    UNFINISHED = (State.QUEUED, State.RUNNING, State.STOPPED, State.ROLLING_BACK)

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="imports")
    # manifest URL or local part paths; a URL holds a token: cleared once the import is over
    sources = models.JSONField(default=list, blank=True)
    remote_any = models.BooleanField(default=False)  # started by the operator: any host may be fetched
    wipe = models.BooleanField(default=False)  # the owner confirmed that the instance's files go
    state = models.CharField(max_length=12, choices=State.choices, default=State.QUEUED)
    attempt = models.CharField(max_length=32, blank=True, default="")  # the live run's; a stale one stops
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    plan_digest = models.CharField(max_length=64, blank=True, default="")
    contents = models.JSONField(default=list, blank=True)
    pieces_done = models.IntegerField(default=0)
    avatar_written = models.BooleanField(default=False)
    bytes_total = models.BigIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True, default="")  # sanitized
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One at a time: a stopped import holds objects until it is resumed or rolled back, and
            # another import of the same archive would write the same names.
            models.UniqueConstraint(
                fields=["instance"], condition=Q(state__in=["queued", "running", "stopped", "rolling_back"]),
                name="one_unfinished_import",
            ),
        ]

    @property
    def finished(self) -> bool:
        return self.state not in self.UNFINISHED
