"""``manage.py setup_storage``: create (idempotently) every bucket the cloud uses."""

from django.core.management.base import BaseCommand

from cozy.instances.models import Instance
from cozy.storage.buckets import ensure_org_buckets, ensure_system_buckets


class Command(BaseCommand):
    help = "Create the system buckets and the bucket of every organization (safe to run again)."

    def handle(self, *args, **opts) -> None:
        system = ensure_system_buckets()
        orgs = ensure_org_buckets(Instance.objects.all())
        self.stdout.write(f"{len(system)} system bucket(s) and {len(orgs)} organization bucket(s) ready")
