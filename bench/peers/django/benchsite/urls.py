"""The seed's endpoints, at the paths gatehouse serves them."""
from django.urls import path

from accounts import views

urlpatterns = [
    path("api/login-set-cookie/", views.login_set_cookie),
    path("api/login/", views.login_view),
    path("api/logout/", views.logout_view),
    path("api/users/profile/", views.profile),
]
