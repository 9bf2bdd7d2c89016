"""``manage.py fsck <domain> [--json] [--fix] [--deep] [--shards N] [--queue]``, ``fsck --system``
(the areas shared by instances) and ``fsck --all`` (every ready instance, then the system areas).

A progress bar on a terminal, JSON lines otherwise (or with --json). Exit
status: 0 clean, 1 anomalies found, 2 error. See docs/fsck.md.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import IO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cozy.fsck.models import FsckRun
from cozy.fsck.output import JsonOutput, RichOutput
from cozy.fsck.runner import SYSTEM, Options, Report, check_instance, check_system, count_expected
from cozy.fsck.tasks import fsck_run
from cozy.instances.hosts import domain_key
from cozy.instances.models import Instance
from s3util import sanitize_error

POLL_SECONDS = 0.5


class Command(BaseCommand):
    help = "Check instances' file index against their objects on S3 (exit 0 clean, 1 anomalies, 2 error)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("domain", nargs="?", help="the instance to check")
        parser.add_argument("--all", action="store_true", help="check every ready instance, then the system areas")
        parser.add_argument("--system", action="store_true",
                            help="check the system areas (app releases, assets), shared by instances")
        parser.add_argument("--json", action="store_true", help="JSON lines even on a terminal")
        parser.add_argument("--fix", action="store_true", help="repair what is safe and report each action")
        parser.add_argument("--deep", action="store_true", help="re-read every object and recompute its MD5")
        parser.add_argument("--shards", type=int, default=1,
                            help="key-range shards checked in parallel (threads here, tasks with --queue)")
        parser.add_argument("--queue", action="store_true",
                            help="run the checks on the Celery workers and wait for their reports")

    def handle(self, *args, **opts) -> None:
        if sum(map(bool, (opts["domain"], opts["all"], opts["system"]))) != 1:
            raise CommandError("give one domain, --system or --all", returncode=2)
        if not 1 <= opts["shards"] <= 256:
            raise CommandError("--shards must be between 1 and 256", returncode=2)
        targets = self._targets(opts)
        options = Options(fix=opts["fix"], deep=opts["deep"], shards=opts["shards"])
        tty = not opts["json"] and self.stdout.isatty()
        stream: IO[str] = self.stdout._out  # type: ignore[assignment]  # the raw stream: OutputWrapper would add a newline to each chunk rich writes
        out = RichOutput(stream) if tty else JsonOutput(stream)
        reports = queued_reports(targets, options) if opts["queue"] else local_reports(targets, options, out)
        found = failed = 0
        for domain, report in reports:
            if isinstance(report, str):
                failed += 1
                out.error(domain, report)
            else:
                out.report(report)
                found += len(report.anomalies)
        if failed:
            raise SystemExit(2)
        if found:
            raise SystemExit(1)

    def _targets(self, opts) -> list[Instance | None]:
        """The instances to check; None stands for the system areas."""
        if opts["system"]:
            return [None]
        if opts["all"]:
            return [*Instance.objects.filter(state=Instance.State.READY).order_by("domain"), None]
        instance = Instance.objects.filter(domain=domain_key(opts["domain"])).first()
        if instance is None:
            raise CommandError("no such instance", returncode=2)
        return [instance]


Reports = Iterator[tuple[str, "Report | str"]]  # (domain, its report or an error message)


def local_reports(targets: list[Instance | None], options: Options, out: JsonOutput | RichOutput) -> Reports:
    for instance in targets:
        domain = instance.domain if instance else SYSTEM
        try:
            with out.progress(domain, count_expected(instance) if instance else 0) as tick:
                yield domain, check_instance(instance, options, tick) if instance else check_system(options, tick)
        except Exception as err:  # noqa: BLE001 - report it, go on with the next instance
            yield domain, sanitize_error(err)


def queued_reports(targets: list[Instance | None], options: Options) -> Reports:
    """One run per instance on the workers (shards become tasks); reports in the order asked."""
    runs = []
    for instance in targets:
        shards = options.shards if instance else 1
        run = FsckRun.objects.create(instance=instance, fix=options.fix, deep=options.deep, shards=shards)
        fsck_run.delay(run.pk)
        runs.append(run)
    for run in runs:
        while run.state not in (FsckRun.State.DONE, FsckRun.State.FAILED):
            time.sleep(POLL_SECONDS)
            run.refresh_from_db()
        domain = run.instance.domain if run.instance else SYSTEM
        yield domain, Report.from_json(run.report or {}) if run.state == FsckRun.State.DONE else run.error
