"""What the instance's avatar is, kept next to its one object ``<db_prefix>/avatar``.

``GET /public/avatar`` answers a matching ``If-None-Match`` from this row, with
no call to the store; the object is read only to send its bytes.
"""

from __future__ import annotations

from django.db import models

from cozy.instances.models import Instance


class Avatar(models.Model):
    instance = models.OneToOneField(Instance, on_delete=models.CASCADE, related_name="+")
    md5 = models.CharField(max_length=32)  # hex, of the stored (re-encoded) bytes
    mime = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"avatar of {self.instance_id} ({self.mime}, {self.size} bytes)"

    @property
    def etag(self) -> str:
        return f'"{self.md5}"'
