from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "cozy.exports"
    label = "exports"
    verbose_name = "Exports and imports"

    def ready(self) -> None:
        from cozy.exports import tasks  # noqa: F401  (the worker_ready hook)
        from cozy.exports.area import EXPORTS, import_holds
        from cozy.files.events import content_holders
        from cozy.storage.areas import register

        register(EXPORTS)
        if import_holds not in content_holders:
            content_holders.append(import_holds)  # an unfinished import's objects are not orphans
