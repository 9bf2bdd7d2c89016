"""``manage.py apps install|update|uninstall|list|fsck|gc``: an instance's web apps and konnectors."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from cozy.apps import gc, installs
from cozy.apps.area import KONNECTORS, WEB
from cozy.apps.assets import ASSETS
from cozy.apps.models import Installation, Kind
from cozy.fsck.runner import Options, check_system
from cozy.instances.hosts import domain_key
from cozy.instances.models import Instance
from s3util import sanitize_error


class Command(BaseCommand):
    help = "Install, update, uninstall and list an instance's apps and konnectors; check and collect releases."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for name, helptext in (("install", "install a release"), ("update", "update to a new release")):
            cmd = sub.add_parser(name, help=helptext)
            cmd.add_argument("domain")
            if name == "install":
                cmd.add_argument("source", help="file:///path.tar.gz, https://…tar.gz#sha256=<hex> "
                                                 "or registry://<slug>/<channel or version>")
            else:
                cmd.add_argument("slug")
                cmd.add_argument("source", nargs="?", help="default: the source it was installed from")
            cmd.add_argument("--slug", dest="as_slug", default=None, help="(install) the slug; default: "
                             "the source file's name up to its first '.' or '-'")
            cmd.add_argument("--konnector", action="store_true", help="a konnector, not a web app")
        uninstall = sub.add_parser("uninstall", help="uninstall an app")
        uninstall.add_argument("domain")
        uninstall.add_argument("slug")
        uninstall.add_argument("--konnector", action="store_true")
        listing = sub.add_parser("list", help="the instance's apps and konnectors, as JSON lines")
        listing.add_argument("domain")
        fsck = sub.add_parser("fsck", help="check the release and assets areas against their rows")
        fsck.add_argument("--fix", action="store_true", help="remove orphans older than --grace seconds")
        fsck.add_argument("--grace", type=float, default=3600)
        collect = sub.add_parser("gc", help="delete releases unused for longer than --grace seconds")
        collect.add_argument("--grace", type=float, default=None, help="default: COZY_APPS_GC_GRACE")

    def handle(self, *args, action: str, **opts) -> None:
        try:
            getattr(self, f"do_{action}")(**opts)
        except installs.REFUSED as err:
            raise CommandError(str(err)) from None
        except (installs.NotInstalled, installs.AlreadyInstalled) as err:
            raise CommandError(str(err)) from None
        except OSError as err:
            raise CommandError(f"storage error: {sanitize_error(err)}") from None

    def _instance(self, domain: str) -> Instance:
        instance = Instance.objects.filter(domain=domain_key(domain)).first()
        if instance is None:
            raise CommandError(f"no instance with domain {domain!r}")
        return instance

    def _run_with_bar(self, label: str, run) -> installs.Outcome:
        columns = [*Progress.get_default_columns()[:1], BarColumn(), DownloadColumn(), TransferSpeedColumn()]
        with Progress(*columns, disable=not self.stdout.isatty()) as bar:
            task = bar.add_task(label, total=None)
            return run(lambda done, total: bar.update(task, completed=done, total=total))

    def do_install(self, domain: str, source: str, as_slug: str | None, konnector: bool, **_: object) -> None:
        instance = self._instance(domain)
        kind = Kind.KONNECTOR if konnector else Kind.WEB
        slug = as_slug or slug_of(source)
        out = self._run_with_bar(f"installing {slug}",
                                 lambda tick: installs.install(instance, kind, slug, source, tick))
        self._done("installed", out)

    def do_update(self, domain: str, slug: str, source: str | None, konnector: bool, **_: object) -> None:
        instance = self._instance(domain)
        kind = Kind.KONNECTOR if konnector else Kind.WEB
        out = self._run_with_bar(f"updating {slug}",
                                 lambda tick: installs.update(instance, kind, slug, source, tick))
        self._done("updated", out)

    def _done(self, verb: str, out: installs.Outcome) -> None:
        release = out.release
        assert release is not None
        self.stdout.write(f"{verb} {release.slug} {release.version} ({release.files} files, {release.size} bytes)")

    def do_uninstall(self, domain: str, slug: str, konnector: bool, **_: object) -> None:
        installs.uninstall(self._instance(domain), Kind.KONNECTOR if konnector else Kind.WEB, slug)
        self.stdout.write(f"uninstalled {slug}")

    def do_list(self, domain: str, **_: object) -> None:
        rows = Installation.objects.filter(instance=self._instance(domain)).select_related("release")
        for row in rows.order_by("kind", "slug"):
            self.stdout.write(json.dumps({
                "kind": row.kind, "slug": row.slug, "state": row.state, "source": row.source,
                "version": row.release.version if row.release else None, "error": row.error or None,
            }))  # fmt: skip

    def do_fsck(self, fix: bool, grace: float, **_: object) -> None:
        """The platform's check of the system areas, limited to this app's three."""
        names = (WEB.name, KONNECTORS.name, ASSETS.name)
        report = check_system(Options(fix=fix, grace=grace), names=names)
        for anomaly in report.anomalies:
            self.stdout.write(json.dumps(anomaly.to_json()))
        if report.anomalies:
            raise SystemExit(1)

    def do_gc(self, grace: float | None, **_: object) -> None:
        deleted = gc.collect(None if grace is None else timedelta(seconds=grace))
        self.stdout.write(f"{len(deleted)} release(s) collected")


def slug_of(source: str) -> str:
    """``…/cozy-drive-1.2.0.tar.gz#…`` -> ``cozy-drive``; ``registry://drive/stable`` -> ``drive``."""
    if source.lower().startswith("registry://"):
        return source[len("registry://"):].split("/", 1)[0]
    name = source.split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    name = re.sub(r"\.(tar\.gz|tgz|git)$", "", name, flags=re.IGNORECASE)
    return re.sub(r"[-_]v?[0-9][0-9A-Za-z.+_-]*$", "", name).lower()
