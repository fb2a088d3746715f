from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from demo_project import openapi  # noqa: F401 - describes the demo views to drf-spectacular

# Django tries these in order, so the busiest come first: the token endpoint and the API.
# Resolving /oauth/token behind the admin, the docs and the portal costs ~20 µs a request.
urlpatterns = [
    path("", TemplateView.as_view(template_name="demo/home.html"), name="home"),
    path("", include("oauth_cc.urls")),
    path("api/", include("demo_project.addresses.urls")),
    path("admin/", admin.site.urls),
    # The API's OpenAPI schema, and Swagger UI to read it and try the API with a token.
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # The customer portal, and Django's login in the portal's look (LOGIN_URL).
    path("portal/", include("oauth_cc.portal.urls")),
    path("accounts/login/",
         auth_views.LoginView.as_view(template_name="oauth_cc/portal/login.html"),
         name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
]
