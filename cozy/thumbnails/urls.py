from django.urls import path

from cozy.thumbnails.views import icon, preview, thumbnail

urlpatterns = [
    path("files/<str:file_id>/thumbnails/<str:secret>/<str:fmt>", thumbnail, name="thumbnail"),
    path("files/<str:file_id>/icon/<str:secret>", icon, name="thumbnail-icon"),
    path("files/<str:file_id>/preview/<str:secret>", preview, name="thumbnail-preview"),
]
