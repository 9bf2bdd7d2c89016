from django.urls import path

from cozy.drive import views

app_name = "drive"

urlpatterns = [
    path("", views.home, name="home"),
    path("drive/", views.drive, name="drive"),
    path("auth/login", views.LoginView.as_view(), name="login"),
    path("auth/logout", views.LogoutView.as_view(), name="logout"),
]
