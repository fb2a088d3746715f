"""The demo's fake address API, answering from the bundled sample data.

Each view is protected as a site using oauth_cc would protect it: a bearer access token with
the view's scope. Errors are in the seed's format (see ``errors``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demo_project.addresses import search
from demo_project.addresses.emails import verify_email
from demo_project.addresses.errors import ParameterError
from demo_project.addresses.phone import CALLING_CODES, verify_phone
from oauth_cc.authentication import BearerJWTAuthentication
from oauth_cc.permissions import HasScope

DEFAULT_MAX = 10
LARGEST_MAX = 100
LONGEST_QUERY = 500


class DemoAPIView(APIView):
    authentication_classes = [BearerJWTAuthentication]
    permission_classes = [HasScope]
    # JSON only, whatever the site's DRF defaults; ?format=json selects it.
    renderer_classes = [JSONRenderer]
    required_scopes: list[str] = []

    def handle_exception(self, exc: Exception) -> Response:
        # Django refuses to parse a query of too many parameters where DRF first reads it
        # (``?format=``): a bad parameter, in the seed's format, not Django's HTML 400.
        if isinstance(exc, TooManyFieldsSent):
            exc = ParameterError("The query has more than "
                                 f"{settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} parameters.")
        return super().handle_exception(exc)

    @staticmethod
    def param(request: Request, name: str) -> str:
        """The stripped value of a required query parameter; raises ``ParameterError``."""
        value = request.query_params.get(name, "").strip()
        if not value:
            raise ParameterError.missing(name)
        return value

    def query(self, request: Request) -> str:
        q = self.param(request, "q")
        if len(q) > LONGEST_QUERY:
            raise ParameterError(f"The q query parameter is longer than {LONGEST_QUERY} "
                                 "characters.")
        return q


class AutocompleteView(DemoAPIView):
    """``GET /api/{au,nz}/address/autocomplete/?q=...[&max=10]``: addresses as you type."""

    required_scopes = ["address"]
    country = "au"

    def get(self, request: Request) -> Response:
        q = self.query(request)
        raw_max = request.query_params.get("max", "").strip() or str(DEFAULT_MAX)
        if not (raw_max.isascii() and raw_max.isdigit() and len(raw_max) <= 4) \
                or not 1 <= int(raw_max) <= LARGEST_MAX:
            raise ParameterError(f"The max query parameter must be an integer from 1 to "
                                 f"{LARGEST_MAX}.")
        completions = search.autocomplete(self.country, q, int(raw_max))
        return Response({"completions": completions, "paid": False, "demo": True,
                         "success": True})


class AddressVerificationView(DemoAPIView):
    """``GET /api/au/address/v2/verification/?q=...``: is this a known address?"""

    required_scopes = ["address"]
    country = "au"

    def get(self, request: Request) -> Response:
        address = search.verify(self.country, self.query(request))
        if address is None:
            return Response({"matched": False, "success": True})
        return Response({"matched": True, "address": address, "success": True})


class PhoneVerificationView(DemoAPIView):
    """``GET /api/phone/verification/?phone_number=...&country_code=AU``."""

    required_scopes = ["phone"]

    def get(self, request: Request) -> Response:
        number = self.param(request, "phone_number")
        country = self.param(request, "country_code").upper()
        if country not in CALLING_CODES:
            raise ParameterError("The country_code query parameter must be AU or NZ.")
        return Response({**verify_phone(number, country).as_dict(), "success": True})


class EmailVerificationView(DemoAPIView):
    """``GET /api/email/verification/?email=...``."""

    required_scopes = ["email"]

    def get(self, request: Request) -> Response:
        return Response({**verify_email(self.param(request, "email")).as_dict(),
                         "success": True})
