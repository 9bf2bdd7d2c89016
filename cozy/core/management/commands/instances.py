"""``manage.py instances create|list|show|token|revoke|destroy``."""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError
from django.utils import timezone

from cozy.instances.hosts import BadDomain, domain_key
from cozy.instances.models import Instance, Token
from cozy.instances.services import create_instance
from s3util import sanitize_error


class Command(BaseCommand):
    help = "Manage instances: create, list, show, token, revoke, destroy."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create an instance")
        create.add_argument("domain")
        create.add_argument("--owner", required=True, help="username of the owner (must exist)")
        create.add_argument("--org", default="", help="organization id (its shared bucket)")
        create.add_argument("--quota", type=int, default=None, help="quota in bytes")
        sub.add_parser("list", help="list instances")
        show = sub.add_parser("show", help="show one instance as JSON")
        show.add_argument("domain")
        token = sub.add_parser("token", help="print a new bearer token for scripts")
        token.add_argument("domain")
        token.add_argument("--name", default="cli")
        revoke = sub.add_parser("revoke", help="revoke every token of an instance with this name")
        revoke.add_argument("domain")
        revoke.add_argument("--name", default="cli")
        destroy = sub.add_parser("destroy", help="delete an instance and all its data (a background job)")
        destroy.add_argument("domain")
        destroy.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        destroy.add_argument("--wait", action="store_true", help="wait for the job and show its progress")
        export = sub.add_parser("export", help="export all the data of an instance as zip parts")
        export.add_argument("domain")
        export.add_argument("--wait", action="store_true", help="wait for the export and show its progress")
        imp = sub.add_parser("import", help="import an export into an instance (runs here, with progress)")
        imp.add_argument("domain")
        imp.add_argument("sources", nargs="*", metavar="SOURCE", help="an export's manifest URL, or its zip parts")
        imp.add_argument("--wipe", action="store_true",
                         help="replace the instance's files (only once the whole archive is stored and checked)")
        imp.add_argument("--resume", type=int, metavar="ID", help="resume the unfinished import ID")
        imp.add_argument("--rollback", type=int, metavar="ID", help="undo the unfinished import ID")
        imp.add_argument("--wait", action="store_true",
                         help="taken as export's is: the command always runs the import and shows its progress")

    def handle(self, *args, action: str, **opts) -> None:
        getattr(self, f"do_{action}")(**opts)

    def _get(self, domain: str) -> Instance:
        try:
            return Instance.objects.get(domain=domain_key(domain))
        except Instance.DoesNotExist:
            raise CommandError(f"no instance with domain {domain!r}") from None

    def do_create(self, domain: str, owner: str, org: str, quota: int | None, **_: object) -> None:
        if not get_user_model().objects.filter(username=owner).exists():
            raise CommandError(f"no user named {owner!r} (create it with createsuperuser)")
        if quota is not None and not 0 <= quota < 2**63:
            raise CommandError("--quota must be a number of bytes, 0 or more")
        try:
            instance = create_instance(domain, owner, org_id=org, quota=quota)
        except BadDomain as err:
            raise CommandError(str(err)) from None
        except IntegrityError:
            raise CommandError(f"an instance with domain {domain!r} already exists") from None
        except OSError as err:
            raise CommandError(f"cannot create the instance's bucket: {sanitize_error(err)}") from None
        self.stdout.write(f"created {instance.domain}")

    def do_list(self, **_: object) -> None:
        for inst in Instance.objects.select_related("owner"):
            org = inst.org_id or "-"
            self.stdout.write(f"{inst.domain}\t{inst.state}\towner={inst.owner.username}\torg={org}")

    def do_show(self, domain: str, **_: object) -> None:
        inst = self._get(domain)
        data = {
            "domain": inst.domain,
            "owner": inst.owner.username,
            "org_id": inst.org_id,
            "db_prefix": inst.db_prefix,
            "context": inst.context,
            "quota_bytes": inst.quota_bytes,
            "state": inst.state,
            "created_at": inst.created_at.isoformat(),
        }
        self.stdout.write(json.dumps(data, indent=2))

    def do_token(self, domain: str, name: str, **_: object) -> None:
        _token, raw = Token.issue(self._get(domain), name)
        self.stdout.write(raw)

    def do_revoke(self, domain: str, name: str, **_: object) -> None:
        count = Token.objects.filter(instance=self._get(domain), name=name, revoked_at=None).update(
            revoked_at=timezone.now()
        )
        self.stdout.write(f"revoked {count} token(s)")

    def do_destroy(self, domain: str, yes: bool, wait: bool, **_: object) -> None:
        from cozy.deletion.command import destroy

        # The raw stream: OutputWrapper would end every partial write (a progress bar) with a newline.
        destroy(domain, yes=yes, wait=wait, out=self.stdout._out)  # type: ignore[arg-type]

    def do_export(self, domain: str, wait: bool, **_: object) -> None:
        from cozy.exports.command import export

        export(domain, wait=wait, out=self.stdout._out)  # type: ignore[arg-type]

    def do_import(self, domain: str, sources: list[str], wipe: bool, resume: int | None, rollback: int | None,
                  **_: object) -> None:  # fmt: skip
        from cozy.exports.command import import_into

        import_into(domain, sources, wipe=wipe, resume=resume, rollback=rollback,
                    out=self.stdout._out)  # type: ignore[arg-type]
