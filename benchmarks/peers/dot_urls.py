"""The demo's URLs, DOT's under ``o/``, and the demo's autocomplete API protected by DOT."""

from django.urls import include, path
from oauth2_provider.contrib.rest_framework import OAuth2Authentication, TokenHasScope

from demo_project.addresses.views import AutocompleteView
from demo_project.urls import urlpatterns as demo_urlpatterns


class DOTAutocompleteView(AutocompleteView):
    """The demo's ``/api/au/address/autocomplete/`` with DOT's DRF classes instead of ours."""

    authentication_classes = [OAuth2Authentication]
    permission_classes = [TokenHasScope]


urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("api-dot/au/address/autocomplete/", DOTAutocompleteView.as_view(country="au"),
         name="dot-au-autocomplete"),
    *demo_urlpatterns,
]
