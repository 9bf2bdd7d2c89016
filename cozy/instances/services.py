"""Creating instances and the buckets they need."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from cozy.instances.hosts import normalize_domain
from cozy.instances.models import Instance
from s3util import bucket_name, ensure_bucket
from s3util.naming import all_system_buckets
from vfs_s3.connection import current_client, current_config


def org_bucket(instance: Instance) -> str:
    return bucket_for_org(instance.org_id)


def bucket_for_org(org_id: str) -> str:
    """The shared bucket of an organization ("" for none), under this deployment's prefix."""
    return bucket_name(current_config().bucket_prefix, org_id or None)


def ensure_system_buckets() -> list[str]:
    """Create (idempotently) the system buckets; done at start-up."""
    config, client = current_config(), current_client()
    names = all_system_buckets(config.bucket_prefix)
    for name in names:
        ensure_bucket(client, name, config.region)
    return names


def ensure_org_buckets(instances) -> set[str]:
    """Create the bucket of every organization these instances belong to."""
    config, client = current_config(), current_client()
    names = {org_bucket(instance) for instance in instances}
    for name in sorted(names):
        ensure_bucket(client, name, config.region)
    return names


def create_instance(domain: str, owner_username: str, *, org_id: str = "", quota: int | None = None) -> Instance:
    """Create an instance; its org bucket first, so that a storage failure leaves no half instance."""
    domain = normalize_domain(domain)
    owner = get_user_model().objects.get(username=owner_username)
    ensure_bucket(current_client(), bucket_for_org(org_id), current_config().region)
    with transaction.atomic():
        instance = Instance.objects.create(domain=domain, owner=owner, org_id=org_id, quota_bytes=quota)
    # The index root and trash come with the files app, when it is installed.
    from django.apps import apps

    if apps.is_installed("cozy.files"):
        from cozy.files.tree import ensure_root_and_trash

        ensure_root_and_trash(instance)
    return instance
