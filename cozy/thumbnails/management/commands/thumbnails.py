"""``manage.py thumbnails regenerate <domain>|--all [--missing] [--queue]``.

A progress bar on a terminal, one line per instance otherwise. With ``--queue``
each instance is one Celery task (``regenerate_thumbnails``) instead.
"""

from __future__ import annotations

from typing import IO, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cozy.instances.hosts import domain_key
from cozy.instances.models import Instance
from cozy.thumbnails.regenerate import Counts, count_candidates, regenerate
from s3util import sanitize_error


class Command(BaseCommand):
    help = "Make the thumbnails of instances' images and PDFs again (or only the missing ones)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        regen = sub.add_parser("regenerate", help="make thumbnails of every current image and PDF content")
        regen.add_argument("domain", nargs="?", help="the instance")
        regen.add_argument("--all", action="store_true", help="every ready instance")
        regen.add_argument("--missing", action="store_true", help="only contents lacking one of the four")
        regen.add_argument("--queue", action="store_true", help="one Celery task per instance; do not wait")

    def handle(self, *args, **opts) -> None:
        if bool(opts["domain"]) == bool(opts["all"]):
            raise CommandError("give one domain, or --all")
        instances = self._instances(opts)
        if opts["queue"]:
            from cozy.thumbnails.tasks import regenerate_thumbnails

            for instance in instances:
                regenerate_thumbnails.delay(instance.pk, opts["missing"])
                self.stdout.write(f"{instance.domain}: queued")
            return
        failed = False
        for instance in instances:
            try:
                counts = self._run(instance, opts["missing"])
            except Exception as err:  # noqa: BLE001 - report it, go on with the next instance
                self.stderr.write(f"{instance.domain}: error: {sanitize_error(err)}")
                failed = True
                continue
            self.stdout.write(f"{instance.domain}: {counts.made} made, {counts.failed} failed, "
                              f"{counts.skipped} skipped")  # fmt: skip
        if failed:
            raise SystemExit(2)

    def _instances(self, opts) -> list[Instance]:
        if opts["all"]:
            return list(Instance.objects.filter(state=Instance.State.READY).order_by("domain"))
        instance = Instance.objects.filter(domain=domain_key(opts["domain"]), state=Instance.State.READY).first()
        if instance is None:
            raise CommandError("no such instance")
        return [instance]

    def _run(self, instance: Instance, missing_only: bool) -> Counts:
        if not self.stdout.isatty():
            return regenerate(instance, missing_only=missing_only)
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        stream = cast(IO[str], self.stdout._out)  # the raw stream: OutputWrapper would add newlines
        with Progress(*columns, console=Console(file=stream)) as bar:
            task = bar.add_task(instance.domain, total=count_candidates(instance))
            return regenerate(instance, missing_only=missing_only, on_each=lambda _: bar.advance(task))
