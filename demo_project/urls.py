from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("demo_project.addresses.urls")),
    path("", include("oauth_cc.urls")),
]
