from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from tests import api_views

urlpatterns = [
    *api_views.urlpatterns,
    path("admin/", admin.site.urls),
    # The customer portal as the demo mounts it, with Django's login in the portal's look.
    path("accounts/login/",
         auth_views.LoginView.as_view(template_name="oauth_cc/portal/login.html"),
         name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("portal/", include("oauth_cc.portal.urls")),
    path("", include("oauth_cc.urls")),
]
