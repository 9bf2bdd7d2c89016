from django.contrib import admin
from django.urls import include, path

from cozy.exports.api import api as move_api
from cozy.files.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("cozy.drive.urls")),
    path("", include("cozy.thumbnails.urls")),
    path("", include("cozy.avatars.urls")),
    path("", api.urls),
    path("", move_api.urls),
    path("", include("cozy.apps.urls")),
]

handler404 = "cozy.core.views.not_found"
