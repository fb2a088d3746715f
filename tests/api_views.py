"""Small DRF views protected by oauth_cc, for the resource-server tests."""

from __future__ import annotations

from django.urls import path
from django.views.generic import RedirectView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oauth_cc.authentication import BearerJWTAuthentication
from oauth_cc.permissions import HasScope


class Protected(APIView):
    authentication_classes = [BearerJWTAuthentication]

    def get(self, request: Request) -> Response:
        return Response({
            "user": str(request.user), "client_id": request.auth.client_id,
            "project_id": request.auth.project_id, "scopes": sorted(request.auth.scopes),
            "is_authenticated": request.user.is_authenticated,
        })


class AddressView(Protected):
    permission_classes = [HasScope]
    required_scopes = ["address"]


class AddressAndPhoneView(Protected):
    permission_classes = [HasScope]
    required_scopes = ["address", "phone"]


class PhoneView(Protected):
    permission_classes = [HasScope.of("phone")]


class AddressOrEmailView(Protected):
    permission_classes = [HasScope.of("address") | HasScope.of("email")]


class AddressAndAuthenticatedView(Protected):
    permission_classes = [HasScope.of("address") & IsAuthenticated]


class NotEmailView(Protected):
    permission_classes = [IsAuthenticated & ~HasScope.of("email")]


class Misconfigured(Protected):
    permission_classes = [HasScope]


class Plain(APIView):
    authentication_classes: list[type] = []
    permission_classes: list[type] = []

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


urlpatterns = [
    path("api/address", AddressView.as_view()),
    path("api/address-and-phone", AddressAndPhoneView.as_view()),
    path("api/phone", PhoneView.as_view()),
    path("api/address-or-email", AddressOrEmailView.as_view()),
    path("api/address-and-authenticated", AddressAndAuthenticatedView.as_view()),
    path("api/not-email", NotEmailView.as_view()),
    path("api/misconfigured", Misconfigured.as_view()),
    path("api/plain", Plain.as_view()),
    # Moved for good: clients follow to /api/address, their DPoP proofs must follow too.
    path("api/moved", RedirectView.as_view(url="/api/address", permanent=True)),
]
