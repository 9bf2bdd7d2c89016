"""The apps' routes on the instance's domain: the JSON:API of installs, and dynamic assets."""

from django.urls import path

from cozy.apps import admin_api  # noqa: F401 - registers its routes on the API
from cozy.apps.api import api
from cozy.apps.assets_view import serve_asset

urlpatterns = [
    path("", api.urls),
    path("assets/<path:name>", serve_asset, name="asset"),
]
