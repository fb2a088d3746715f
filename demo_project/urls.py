from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from demo_project import openapi  # noqa: F401 - describes the demo views to drf-spectacular

urlpatterns = [
    # The home page first: oauth_cc.urls is mounted at "" too.
    path("", TemplateView.as_view(template_name="demo/home.html"), name="home"),
    path("admin/", admin.site.urls),
    # The API's OpenAPI schema, and Swagger UI to read it and try the API with a token.
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/", include("demo_project.addresses.urls")),
    # The customer portal, and Django's login in the portal's look (LOGIN_URL).
    path("portal/", include("oauth_cc.portal.urls")),
    path("accounts/login/",
         auth_views.LoginView.as_view(template_name="oauth_cc/portal/login.html"),
         name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("oauth_cc.urls")),
]
