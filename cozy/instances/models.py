"""Instances (one personal cloud each) and their API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models


def new_db_prefix() -> str:
    """A stable, opaque key prefix; never derived from the (mutable) domain."""
    return "i" + secrets.token_hex(10)


class Instance(models.Model):
    class State(models.TextChoices):
        READY = "ready"
        DELETING = "deleting"

    domain = models.CharField(max_length=253, unique=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="instances")
    org_id = models.CharField(max_length=100, blank=True, default="")
    db_prefix = models.CharField(max_length=40, unique=True, default=new_db_prefix, editable=False)
    context = models.CharField(max_length=100, default="default")
    quota_bytes = models.BigIntegerField(null=True, blank=True, help_text="None means no quota")
    state = models.CharField(max_length=16, choices=State.choices, default=State.READY)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain

    @property
    def key_prefix(self) -> str:
        """Every key of this instance in its org bucket starts with this."""
        return f"{self.db_prefix}/"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class Token(models.Model):
    """A bearer token for scripts; only its hash is stored."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100, default="cli")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    @classmethod
    def issue(cls, instance: Instance, name: str = "cli") -> tuple[Token, str]:
        raw = "cozy_" + secrets.token_urlsafe(32)
        return cls.objects.create(instance=instance, name=name, key_hash=hash_token(raw)), raw
