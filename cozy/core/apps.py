from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "cozy.core"
    label = "core"

    def ready(self) -> None:
        import cozy.celery  # noqa: F401 - the app that shared tasks bind to, in every Django process
