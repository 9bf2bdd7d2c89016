from django.apps import AppConfig


class FilesConfig(AppConfig):
    name = "cozy.files"
    label = "files"
