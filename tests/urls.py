from django.contrib import admin
from django.urls import include, path

from tests import api_views

urlpatterns = [
    *api_views.urlpatterns,
    path("admin/", admin.site.urls),
    path("", include("oauth_cc.urls")),
]
