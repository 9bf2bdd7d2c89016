from django.contrib import admin
from django.urls import path

from cozy.files.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", api.urls),
]
