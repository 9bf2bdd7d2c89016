from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "cozy.exports"
    label = "exports"
    verbose_name = "Exports and imports"

    def ready(self) -> None:
        from cozy.exports import tasks  # noqa: F401  (the worker_ready hook)
        from cozy.exports.area import EXPORTS
        from cozy.storage.areas import register

        register(EXPORTS)
