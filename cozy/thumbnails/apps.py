from django.apps import AppConfig


class ThumbnailsConfig(AppConfig):
    name = "cozy.thumbnails"
    label = "thumbnails"

    def ready(self) -> None:
        from cozy.storage.areas import register
        from cozy.thumbnails.area import THUMBS

        register(THUMBS)
