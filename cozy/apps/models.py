"""Releases (one stored copy of a tarball, shared) and installations (an instance uses a release)."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q

from cozy.instances.models import Instance


class Kind(models.TextChoices):
    WEB = "webapp"
    KONNECTOR = "konnector"


def new_release_id() -> str:
    """A fresh key part for every install attempt: two tarballs never share keys."""
    return secrets.token_hex(12)


class Release(models.Model):
    class State(models.TextChoices):
        INSTALLING = "installing"  # objects being written; nothing serves them
        READY = "ready"  # the tarball's sha256 matched; installable
        DELETING = "deleting"  # garbage-collected; its objects are going

    kind = models.CharField(max_length=16, choices=Kind.choices)
    slug = models.CharField(max_length=64)
    version = models.CharField(max_length=64, blank=True, default="")  # known once the manifest is read
    uid = models.CharField(max_length=24, unique=True, default=new_release_id, editable=False)
    sha256 = models.CharField(max_length=64, blank=True, default="")  # hex; "" until known
    manifest = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=State.choices, default=State.INSTALLING)
    files = models.IntegerField(default=0)
    size = models.BigIntegerField(default=0)  # original bytes of all its files
    stored_size = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    unused_since = models.DateTimeField(null=True, blank=True)  # no installation uses it (GC clock)

    class Meta:
        constraints = [
            # One ready copy of a tarball; a concurrent install that finishes second reuses it.
            models.UniqueConstraint(fields=["kind", "slug", "version", "sha256"], condition=Q(state="ready"),
                                    name="one_ready_release"),
            # An install whose sum is known up front claims it: a concurrent one waits instead of copying.
            models.UniqueConstraint(fields=["kind", "slug", "sha256"], condition=Q(state="installing") & ~Q(sha256=""),
                                    name="one_install_per_tarball"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.slug} {self.version or '?'} ({self.uid})"

    def name(self, path: str) -> str:
        """The store name of one of its files."""
        return f"{self.slug}/{self.uid}/{path}"


class ReleaseFile(models.Model):
    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="entries")
    path = models.CharField(max_length=1024)
    size = models.BigIntegerField()  # original length
    md5 = models.CharField(max_length=32)  # hex MD5 of the original bytes
    encoding = models.CharField(max_length=8, default="")  # "br" or "" (stored as is)
    stored_size = models.BigIntegerField()
    mime = models.CharField(max_length=128)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "path"], name="one_file_per_path")]


class Installation(models.Model):
    class State(models.TextChoices):
        INSTALLING = "installing"
        READY = "ready"
        ERRORED = "errored"

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="installations")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    slug = models.CharField(max_length=64)
    release = models.ForeignKey(Release, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="installations")
    source = models.CharField(max_length=2048)
    state = models.CharField(max_length=16, choices=State.choices, default=State.INSTALLING)
    error = models.CharField(max_length=500, blank=True, default="")
    installed_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["instance", "kind", "slug"], name="one_install_per_slug")]


class Asset(models.Model):
    """A dynamic asset of a context (a logo, a theme), served at /assets/<name> to its instances.

    Objects: ``<context>/<name>/<uid>`` (the bytes) and ``…/<uid>.br`` (brotli, when worth it);
    a replacement gets a fresh uid, so a reader never sees a mix of two versions."""

    context = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    uid = models.CharField(max_length=24, default=new_release_id)
    sha256 = models.CharField(max_length=64)
    md5 = models.CharField(max_length=32)
    mime = models.CharField(max_length=128)
    size = models.BigIntegerField()
    br_size = models.BigIntegerField(default=0)  # 0: no brotli object
    source = models.CharField(max_length=2048)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["context", "name"], name="one_asset_per_name")]

    @property
    def key(self) -> str:
        return f"{self.context}/{self.name}/{self.uid}"

    @property
    def br_key(self) -> str | None:
        return f"{self.key}.br" if self.br_size else None
