"""fsck runs queued on Celery (their parts and merged report), and the files --fix set aside as lost."""

from __future__ import annotations

from django.db import models

from cozy.instances.models import Instance


class FsckRun(models.Model):
    """One check of one instance, or (no instance) of the system areas; ``report`` is filled
    when every part is done."""

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="fsck_runs", null=True, blank=True)
    fix = models.BooleanField(default=False)
    deep = models.BooleanField(default=False)
    shards = models.PositiveSmallIntegerField(default=1)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    report = models.JSONField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)


class FsckPart(models.Model):
    """A key-range shard of a run (0..shards-1), or the rest (index == shards): tree, thumbnails, other keys."""

    run = models.ForeignKey(FsckRun, on_delete=models.CASCADE, related_name="parts")
    index = models.PositiveSmallIntegerField()
    done = models.BooleanField(default=False)
    anomalies = models.JSONField(default=list)
    stats = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="fsck_part_per_run")]


class LostFile(models.Model):
    """A file whose content object was missing, moved to /lost+found by ``fsck --fix``.

    Later runs do not report it again while it still points at that same lost content.
    """

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="lost_files")
    doc_id = models.CharField(max_length=64)
    content_id = models.CharField(max_length=64)
    former_path = models.CharField(max_length=4096)
    found_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["instance", "doc_id"], name="fsck_lost_file_per_instance")]
