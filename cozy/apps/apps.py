"""Web apps and konnectors: releases stored once in the system areas, installed per instance."""
from django.apps import AppConfig


class AppsConfig(AppConfig):
    name = "cozy.apps"
    label = "apps"
    verbose_name = "apps and konnectors"

    def ready(self) -> None:
        from cozy.apps.area import KONNECTORS, WEB
        from cozy.apps.assets import ASSETS
        from cozy.apps.exported import installed_apps
        from cozy.instances import described
        from cozy.storage.areas import register

        register(WEB)
        register(KONNECTORS)
        register(ASSETS)
        described.register("apps", installed_apps)
