"""The file index: a tree of directories and files per instance, and file versions.

Content bytes live in S3 under ``<db_prefix>/files/<doc_id>/<content_id>``;
rows here point at them. See the ordering rule in docs/s3.md.
"""

from __future__ import annotations

import uuid

from django.db import models

from cozy.instances.models import Instance

ROOT_ID = "io.cozy.files.root-dir"
TRASH_ID = "io.cozy.files.trash-dir"
TRASH_NAME = ".cozy_trash"


def new_doc_id() -> str:
    return uuid.uuid4().hex


class Node(models.Model):
    """A directory or a file. Root and trash are directories with fixed doc ids."""

    class Type(models.TextChoices):
        DIRECTORY = "directory"
        FILE = "file"

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="nodes")
    doc_id = models.CharField(max_length=64, default=new_doc_id)
    type = models.CharField(max_length=9, choices=Type.choices)
    name = models.CharField(max_length=255)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    trashed = models.BooleanField(default=False)
    restore_path = models.CharField(max_length=4096, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Files only.
    size = models.BigIntegerField(default=0)
    md5 = models.CharField(max_length=32, blank=True, default="")  # hex
    mime = models.CharField(max_length=255, blank=True, default="")
    content_id = models.CharField(max_length=64, blank=True, default="")
    revision = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instance", "doc_id"], name="node_doc_id_per_instance"),
            # Names are unique in a directory; concurrent creations race on this.
            models.UniqueConstraint(fields=["parent", "name"], name="node_unique_name_in_dir"),
        ]
        indexes = [models.Index(fields=["instance", "type", "doc_id"])]

    def __str__(self) -> str:
        return f"{self.type}:{self.doc_id}"

    @property
    def is_dir(self) -> bool:
        return self.type == self.Type.DIRECTORY

    @property
    def rev(self) -> str:
        return f"{self.revision}-{self.md5 or 'dir'}"


class Version(models.Model):
    """A previous content of a file; its object stays in the file's folder."""

    file = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="versions")
    content_id = models.CharField(max_length=64, unique=True)
    size = models.BigIntegerField()
    md5 = models.CharField(max_length=32)
    mime = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField()  # when this content was written

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def version_id(self) -> str:
        return self.content_id
