"""``manage.py assets add|remove|list``: dynamic assets of a context (see docs/apps.md)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cozy.apps import assets
from cozy.apps.models import Asset
from cozy.apps.sources import BadSource
from s3util import sanitize_error


class Command(BaseCommand):
    help = "Add, remove and list the dynamic assets served at /assets/<name> to a context's instances."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="add or replace an asset")
        add.add_argument("context")
        add.add_argument("name", help="e.g. logos/logo.svg")
        add.add_argument("source", help="file:///path#sha256=<hex> or https://…#sha256=<hex>")
        remove = sub.add_parser("remove", help="remove an asset")
        remove.add_argument("context")
        remove.add_argument("name")
        listing = sub.add_parser("list", help="the assets, as JSON lines")
        listing.add_argument("context", nargs="?")

    def handle(self, *args, action: str, **opts) -> None:
        try:
            getattr(self, f"do_{action}")(**opts)
        except (assets.AssetError, BadSource) as err:
            raise CommandError(str(err)) from None
        except OSError as err:
            raise CommandError(f"storage error: {sanitize_error(err)}") from None

    def do_add(self, context: str, name: str, source: str, **_: object) -> None:
        row = assets.add(context, name, source)
        self.stdout.write(f"added {context}/{name} ({row.size} bytes, brotli {row.br_size or '-'})")

    def do_remove(self, context: str, name: str, **_: object) -> None:
        assets.remove(context, name)
        self.stdout.write(f"removed {context}/{name}")

    def do_list(self, context: str | None, **_: object) -> None:
        rows = Asset.objects.all() if context is None else Asset.objects.filter(context=context)
        for row in rows.order_by("context", "name"):
            self.stdout.write(json.dumps({"context": row.context, "name": row.name, "sha256": row.sha256,
                                          "mime": row.mime, "size": row.size, "br_size": row.br_size}))
