from django.urls import path

from cozy.thumbnails.views import thumbnail

urlpatterns = [
    path("files/<str:file_id>/thumbnails/<str:secret>/<str:fmt>", thumbnail, name="thumbnail"),
]
