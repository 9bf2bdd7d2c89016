from django.apps import AppConfig


class FilesConfig(AppConfig):
    name = "cozy.files"
    label = "files"

    def ready(self) -> None:
        from cozy.files import signals
        from cozy.files.area import FILES
        from cozy.storage.areas import register

        register(FILES)
        signals.connect()
