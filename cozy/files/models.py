"""The file index: a tree of directories and files per instance, and file versions.

Content bytes live in S3 under ``<db_prefix>/files/<doc_id>/<content_id>``;
rows here point at them. See the ordering rule in docs/s3.md.
"""

from __future__ import annotations

import uuid

from django.db import IntegrityError, connection, models, transaction
from django.db.models import F
from django.utils import timezone

from cozy.files.names import mime_class
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
    # Set by the server unless a client gives them (Date, CreatedAt, UpdatedAt, PATCH updated_at).
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Files only.
    size = models.BigIntegerField(default=0)
    md5 = models.CharField(max_length=32, blank=True, default="")  # hex
    mime = models.CharField(max_length=255, blank=True, default="")
    mime_class = models.CharField(max_length=16, blank=True, default="")  # from mime, for queries on class
    content_id = models.CharField(max_length=64, blank=True, default="")
    revision = models.PositiveIntegerField(default=1)
    # cozy-stack's other writable attributes.
    tags = models.JSONField(default=list, blank=True)
    executable = models.BooleanField(default=False)
    cozy_metadata = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # Position in the change feed: a fresh number from the instance's counter on every save.
    seq = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instance", "doc_id"], name="node_doc_id_per_instance"),
            # Names are unique in a directory; concurrent creations race on this.
            models.UniqueConstraint(fields=["parent", "name"], name="node_unique_name_in_dir"),
        ]
        indexes = [
            models.Index(fields=["instance", "type", "doc_id"]),
            models.Index(fields=["instance", "seq"], name="node_seq"),
            models.Index(fields=["instance", "updated_at"], name="node_updated_at"),
            models.Index(fields=["instance", "created_at"], name="node_created_at"),
            models.Index(fields=["instance", "mime"], name="node_mime"),
            models.Index(fields=["instance", "mime_class"], name="node_class"),
            models.Index(fields=["instance", "name"], name="node_name"),
            # Partial: what a query on trashed=true or on tags needs is a few rows of an instance,
            # which no other index finds (a boolean alone is no index key, tags are JSON). Only
            # those rows are indexed, so queries on untrashed or untagged files never pick these.
            models.Index(fields=["instance", "type"], condition=models.Q(trashed=True), name="node_trashed"),
            models.Index(fields=["instance"], condition=~models.Q(tags=[]), name="node_tagged"),
        ]

    def __str__(self) -> str:
        return f"{self.type}:{self.doc_id}"

    @property
    def is_dir(self) -> bool:
        return self.type == self.Type.DIRECTORY

    @property
    def rev(self) -> str:
        return f"{self.revision}-{self.md5 or 'dir'}"

    def save(self, *args, touch: bool = True, **kwargs) -> None:
        """Every save is a change: a new revision, a new place in the change feed, and
        (unless ``touch`` is False, when the caller set it) a new ``updated_at``."""
        if self.pk is not None and not kwargs.get("force_insert"):
            self.revision += 1
            if touch:
                self.updated_at = timezone.now()
        self.seq = next_seq(self.instance_id)
        if not self.is_dir:
            self.mime_class = mime_class(self.mime)
        fields = kwargs.get("update_fields")
        if fields is not None:
            kwargs["update_fields"] = {*fields, "revision", "seq", "updated_at", "mime_class"}
        super().save(*args, **kwargs)


    def mark_new(self) -> None:
        """Tell the ORM that a node just inserted has no versions and no references, as a
        prefetch would: its document then costs no query for them, nor a compiled one."""
        self._prefetched_objects_cache = {  # Django's prefetch cache
            "versions": _fetched_empty(Version.objects.none()), "references": _fetched_empty(Reference.objects.none()),
        }


def _fetched_empty(qs: models.QuerySet) -> models.QuerySet:
    """``qs`` as a prefetch leaves it, its rows (none) in hand: reading it compiles nothing."""
    qs._result_cache = []  # as Django's prefetch_one_level
    qs._prefetch_done = True  # type: ignore[attr-defined]  # not in the stubs
    return qs


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


class Sequence(models.Model):
    """One counter per instance for the change feed. Its row stays locked until the
    change that took a number commits, so numbers become visible in order."""

    instance = models.OneToOneField(Instance, on_delete=models.CASCADE, primary_key=True, related_name="+")
    last = models.BigIntegerField(default=0)


class Usage(models.Model):
    """The bytes an instance's files and kept versions use, kept up to date by the database's
    own triggers (migration 0004_usage) on every insert, update and delete of their rows,
    whatever the path (the ORM, a bulk delete, raw SQL): a quota check reads this row instead
    of summing every file of the instance at each upload.

    No foreign key: a cascade deletes the instance's nodes after its other rows, and each
    delete writes here; a trigger on the instances table drops the row with its instance."""

    instance_id = models.BigIntegerField(primary_key=True)
    files = models.BigIntegerField(default=0)
    versions = models.BigIntegerField(default=0)


class Tombstone(models.Model):
    """A document deleted for good, kept for the change feed."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="+")
    doc_id = models.CharField(max_length=64)
    seq = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["instance", "seq"], name="tombstone_seq")]


def next_seq(instance_id: int, count: int = 1) -> int:
    """Reserve ``count`` numbers of the instance's feed; returns the first."""
    # No savepoint of its own (two statements less on every save): an error here fails the
    # caller's transaction anyway. The first number of an instance keeps one, for its race.
    with transaction.atomic(savepoint=False):
        if (last := _add_returning(instance_id, count)) is not None:
            return last - count + 1
        counter = Sequence.objects.filter(instance_id=instance_id)
        if not counter.update(last=F("last") + count):
            try:
                with transaction.atomic():
                    Sequence.objects.create(instance_id=instance_id, last=count)
                return 1
            except IntegrityError:  # created meanwhile
                counter.update(last=F("last") + count)
        return counter.values_list("last", flat=True).get() - count + 1


def _add_returning(instance_id: int, count: int) -> int | None:
    """The counter after adding ``count``, in one statement (UPDATE ... RETURNING, which the
    ORM has no call for); None when the counter is missing or the database cannot."""
    if not connection.features.can_return_columns_from_insert:  # PostgreSQL, SQLite 3.35+
        return None
    table, qn = Sequence._meta.db_table, connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {qn(table)} SET {qn('last')} = {qn('last')} + %s "  # noqa: S608 - names, not input
                       f"WHERE {qn('instance_id')} = %s RETURNING {qn('last')}", [count, instance_id])
        row = cursor.fetchone()
    return None if row is None else int(row[0])


class Reference(models.Model):
    """A file referenced by another document (a photo in an album, a bill of a konnector)."""

    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="references")
    doctype = models.CharField(max_length=128)
    doc_id = models.CharField(max_length=255)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["node", "doctype", "doc_id"], name="reference_once")]
        indexes = [models.Index(fields=["doctype", "doc_id"], name="reference_target")]
