from django.apps import AppConfig


class DriveConfig(AppConfig):
    """The Drive web UI: a page that uses only the files API."""

    name = "cozy.drive"
    label = "drive"
