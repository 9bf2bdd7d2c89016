"""The apps' routes on the instance's domain: the JSON:API of installs."""

from django.urls import path

from cozy.apps.api import api

urlpatterns = [
    path("", api.urls),
]
