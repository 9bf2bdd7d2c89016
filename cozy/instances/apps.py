from django.apps import AppConfig


class InstancesConfig(AppConfig):
    name = "cozy.instances"
    label = "instances"
