"""One protected endpoint: ``GET /api/address/`` with the ``address`` scope."""

from __future__ import annotations

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oauth_cc.authentication import BearerJWTAuthentication
from oauth_cc.permissions import HasScope


class AddressView(APIView):
    authentication_classes = [BearerJWTAuthentication]
    permission_classes = [HasScope.of("address")]

    def get(self, request: Request) -> Response:
        return Response({"client_id": request.auth.client_id, "success": True})


urlpatterns = [path("api/address/", AddressView.as_view())]
