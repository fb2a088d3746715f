"""The demo's URLs plus an open copy of its autocomplete API, for the benchmark only.

``/bench-open/au/address/autocomplete/`` runs the demo's ``AutocompleteView`` (the same query
parsing, search, renderer and response) with no authentication or permission classes, so
that the protected ``/api/au/address/autocomplete/`` can be compared with the same work minus
oauth_cc. It is first in the list, so its URL resolves no later than the protected one.
"""

from django.urls import path
from rest_framework.permissions import AllowAny

from demo_project.addresses.views import AutocompleteView
from demo_project.urls import urlpatterns as demo_urlpatterns


class OpenAutocompleteView(AutocompleteView):
    """The demo's autocomplete view without ``BearerJWTAuthentication`` and ``HasScope``."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]


urlpatterns = [
    path("bench-open/au/address/autocomplete/", OpenAutocompleteView.as_view(country="au"),
         name="bench-open-au-autocomplete"),
    *demo_urlpatterns,
]
