from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "cozy.storage"
    label = "storage"
