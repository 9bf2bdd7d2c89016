from django.apps import AppConfig


class InstancesConfig(AppConfig):
    name = "cozy.instances"
    label = "instances"

    def ready(self) -> None:
        from cozy.instances import lookup_cache

        lookup_cache.connect()
