from django.contrib import admin
from django.urls import include, path, re_path

from cozy.exports.api import api as move_api
from cozy.files.api import api
from cozy.files.routing import not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("cozy.drive.urls")),
    path("", include("cozy.thumbnails.urls")),
    path("", include("cozy.avatars.urls")),
    path("", api.urls),
    path("", move_api.urls),
    path("", include("cozy.apps.urls")),
    re_path(r"^(?:files|data)(?:/|$)", not_found),  # after every real route: a JSON:API 404
]

# Django's own error answers, JSON:API for API clients (cozy.core.views)
handler400 = "cozy.core.views.bad_request"
handler403 = "cozy.core.views.permission_denied"
handler404 = "cozy.core.views.not_found"
handler500 = "cozy.core.views.server_error"
