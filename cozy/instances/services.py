"""Creating instances and the buckets they need."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from cozy.instances.hosts import normalize_domain
from cozy.instances.models import Instance
from cozy.instances.signals import instance_created
from cozy.storage.buckets import ensure_org_bucket
from cozy.storage.stores import bucket_for_org


def org_bucket(instance: Instance) -> str:
    return bucket_for_org(instance.org_id)


def create_instance(domain: str, owner_username: str, *, org_id: str = "", quota: int | None = None) -> Instance:
    """Create an instance; its org bucket first, so that a storage failure leaves no half instance."""
    domain = normalize_domain(domain)
    owner = get_user_model().objects.get(username=owner_username)
    ensure_org_bucket(org_id)
    with transaction.atomic():
        instance = Instance.objects.create(domain=domain, owner=owner, org_id=org_id, quota_bytes=quota)
        instance_created.send(Instance, instance=instance)  # the apps set up their part (the files root...)
    return instance
