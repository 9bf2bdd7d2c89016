from django.apps import AppConfig


class DriveConfig(AppConfig):
    """The Drive web UI: a page that uses only the files API."""

    name = "cozy.drive"
    label = "drive"

    def ready(self) -> None:
        from cozy.drive import login_throttle  # noqa: F401  (its signal receivers)
