"""``manage.py runcloud``: the whole cloud on this machine (see cozy.core.launcher)."""

from django.core.management.base import BaseCommand, CommandParser

from cozy.core.launcher import run


class Command(BaseCommand):
    help = "Set up and run the cloud: embedded S3 unless COZY_FS_URL is set, web server and worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host: str, port: int, **opts) -> None:
        code = run(host, port, stdout=self.stdout)
        if code:
            raise SystemExit(code)
