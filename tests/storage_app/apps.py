from django.apps import AppConfig


class StorageAppConfig(AppConfig):
    name = "tests.storage_app"
    label = "storage_app"
