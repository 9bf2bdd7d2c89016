"""The record of one instance deletion: what to delete, how far it got, how it ended.

What the job needs is copied from the instance when it is created, because the
instance row itself is deleted near the end of the job.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class DeletionJob(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    class Phase(models.TextChoices):
        INDEX = "index", "deleting index rows"
        OBJECTS = "objects", "deleting objects"
        DONE = "done", "done"

    UNFINISHED = (State.QUEUED, State.RUNNING)

    domain = models.CharField(max_length=253)
    db_prefix = models.CharField(max_length=40)
    org_id = models.CharField(max_length=100, blank=True, default="")
    org_bucket = models.CharField(max_length=63)
    bucket_prefix = models.CharField(max_length=40)
    requested_by = models.CharField(max_length=150, blank=True, default="")

    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    phase = models.CharField(max_length=8, choices=Phase.choices, default=Phase.INDEX)
    objects_deleted = models.BigIntegerField(default=0)
    bytes_freed = models.BigIntegerField(default=0)
    # What the index knew at request time: the total of a progress bar, not a promise.
    expected_objects = models.BigIntegerField(default=0)
    expected_bytes = models.BigIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True, default="")  # sanitized

    # The runner that owns the job until lease_until; see cozy/deletion/lease.py.
    lease_owner = models.CharField(max_length=100, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One live job per instance: a second request resumes it instead.
            models.UniqueConstraint(
                fields=["db_prefix"], condition=~Q(state="done"), name="one_open_deletion_per_prefix"
            ),
        ]
        indexes = [models.Index(fields=["domain"]), models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"deletion of {self.domain} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)
