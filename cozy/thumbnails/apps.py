from django.apps import AppConfig


class ThumbnailsConfig(AppConfig):
    name = "cozy.thumbnails"
    label = "thumbnails"

    def ready(self) -> None:
        from cozy.files.events import link_providers
        from cozy.storage.areas import register
        from cozy.thumbnails import hooks
        from cozy.thumbnails.area import THUMBS
        from cozy.thumbnails.links import thumbnail_links
        from cozy.thumbnails.previews import PREVIEWS

        register(THUMBS)
        register(PREVIEWS)
        hooks.connect()
        if thumbnail_links not in link_providers:
            link_providers.append(thumbnail_links)
