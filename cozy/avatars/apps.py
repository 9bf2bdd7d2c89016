from django.apps import AppConfig


class AvatarsConfig(AppConfig):
    name = "cozy.avatars"
    label = "avatars"

    def ready(self) -> None:
        from cozy.avatars.area import AVATAR
        from cozy.storage.areas import register

        register(AVATAR)
