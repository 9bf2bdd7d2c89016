from django.apps import AppConfig


class DeletionConfig(AppConfig):
    name = "cozy.deletion"
    label = "deletion"
    verbose_name = "Instance deletion"
