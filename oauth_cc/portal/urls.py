"""Include with ``path("portal/", include("oauth_cc.portal.urls"))``; the paths are the
contract's (CONTRACT.md §10)."""

from django.urls import path

from oauth_cc.portal import api, views

app_name = "oauth_cc_portal"

CLIENT = "projects/<int:project_pk>/credentials/<str:client_id>/"
API_CLIENT = "api/projects/<int:project_pk>/clients/<str:client_id>/"

urlpatterns = [
    path("", views.project_list, name="projects"),
    path("projects/<int:project_pk>/credentials/", views.credentials, name="credentials"),
    path("projects/<int:project_pk>/credentials/create/", views.create, name="create"),
    path(CLIENT + "regenerate/", views.regenerate, name="regenerate"),
    path(CLIENT + "authentication/", views.authentication, name="authentication"),
    path(CLIENT + "disable/", views.disable, name="disable"),
    path(CLIENT + "enable/", views.enable, name="enable"),
    path(CLIENT + "require-dpop/", views.require_dpop, name="require-dpop"),
    path(CLIENT + "allow-bearer/", views.allow_bearer, name="allow-bearer"),
    path(CLIENT + "delete/", views.delete, name="delete"),
    path("api/projects/", api.ProjectListAPI.as_view(), name="api-projects"),
    path("api/projects/<int:project_pk>/clients/", api.ClientListAPI.as_view(),
         name="api-clients"),
    path(API_CLIENT, api.ClientDetailAPI.as_view(), name="api-client"),
    path(API_CLIENT + "regenerate/", api.RegenerateAPI.as_view(), name="api-regenerate"),
]
