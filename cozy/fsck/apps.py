from django.apps import AppConfig


class FsckConfig(AppConfig):
    name = "cozy.fsck"
    label = "fsck"
    default_auto_field = "django.db.models.BigAutoField"
