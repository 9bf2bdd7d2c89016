from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "cozy.core"
    label = "core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        import cozy.celery  # noqa: F401 - the app that shared tasks bind to, in every Django process
        from cozy.core.sqlite_wal import keep_log_open

        connection_created.connect(keep_log_open, dispatch_uid="cozy.core.sqlite_wal")
