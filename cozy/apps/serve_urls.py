"""The URL map of an app host (``<slug>.<instance domain>``): every path is the app's."""

from django.urls import path

from cozy.apps.serve import serve

urlpatterns = [
    path("", serve, {"path": ""}),
    path("<path:path>", serve),
]
