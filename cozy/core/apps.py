from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "cozy.core"
    label = "core"
