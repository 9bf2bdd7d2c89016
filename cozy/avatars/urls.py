from django.urls import path

from cozy.avatars.views import public_avatar, settings_avatar

urlpatterns = [
    path("settings/avatar", settings_avatar, name="settings-avatar"),
    path("public/avatar", public_avatar, name="public-avatar"),
]
