from django.urls import path

from cozy.drive import exports_page, views

app_name = "drive"

urlpatterns = [
    path("", views.home, name="home"),
    path("drive/", views.drive, name="drive"),
    path("drive/settings/exports", exports_page.exports, name="exports"),
    path("auth/login", views.LoginView.as_view(), name="login"),
    path("auth/logout", views.LogoutView.as_view(), name="logout"),
]
