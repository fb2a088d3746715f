"""The portal's operations as JSON, for single-page portals (DRF, session authentication and
CSRF). The same ``operations`` as the pages; the secret is in the body of the create (201)
and regenerate (200) responses only, never cached. A ``private_key_jwt`` client (created so,
or switched by a PATCH with its keys) has no secret: its create response has none either.

An anonymous request is 403 (DRF's answer with session authentication, which has no
``WWW-Authenticate`` challenge to make it a 401); an unsafe method without the CSRF token is
403 too. A project the user may not manage, and a client outside it, are 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from oauth_cc import jose
from oauth_cc.models import Client, Project
from oauth_cc.portal import operations
from oauth_cc.portal.access import get_client, get_project, managed_projects
from oauth_cc.portal.serializers import (
    ClientSerializer,
    ClientWriteSerializer,
    ProjectSerializer,
)
from oauth_cc.shown_once import ShownOnce


class ProjectNotEnabledError(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("OAuth2 client credentials are not enabled for this project.")
    default_code = operations.ProjectNotEnabled.code


def api_error(refusal: operations.PortalRefusal) -> APIException:
    """The DRF error for a refusal: 409 while the project is not enabled, else a 400 with
    the message under the field it is about (``scopes``) or ``non_field_errors``."""
    if isinstance(refusal, operations.ProjectNotEnabled):
        return ProjectNotEnabledError(refusal.message)
    key = ("scopes" if isinstance(refusal, operations.ScopesNotAllowed)
           else refusal.field if isinstance(refusal, operations.KeysRefused)
           else api_settings.NON_FIELD_ERRORS_KEY)
    return ValidationError({key: [refusal.message]}, code=refusal.code)


class PortalJSONParser(JSONParser):
    """DRF's ``JSONParser``, with a 400 (``ParseError``) for two documents it lets through:
    JSON nested deeper than the interpreter's recursion limit (``RecursionError``, a 500),
    and a string holding a lone surrogate escape (``"\\ud800"``, RFC 8259 §8.2), which is
    no text: no field could store it or look it up."""

    def parse(self, stream: Any, media_type: str | None = None,
              parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as e:
            raise ParseError("JSON parse error - it is nested too deeply.") from e
        try:
            jose.refuse_lone_surrogates(data)
        except jose.LoneSurrogate as e:
            raise ParseError(f"JSON parse error - it {e}") from e
        return data


class PortalAPIView(APIView):
    """Session-authenticated JSON whatever the site's DRF defaults; never cached."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]
    parser_classes = [PortalJSONParser]

    def finalize_response(self, request: Request, response: Response, *args: Any,
                          **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    def project(self) -> Project:
        return get_project(self.request, self.kwargs["project_pk"])

    def client(self) -> Client:
        return get_client(self.project(), self.kwargs["client_id"])

    def client_url(self, client: Client) -> str:
        match = self.request.resolver_match
        return self.request.build_absolute_uri(reverse(
            "oauth_cc_portal:api-client", current_app=match.namespace if match else None,
            kwargs={"project_pk": client.project_id, "client_id": client.client_id}))

    @sensitive_variables("secret")
    def with_secret(self, client: Client, secret: ShownOnce | None) -> dict[str, Any]:
        """The client, and its secret when it has just been given one (None: it has none)."""
        if secret is None:
            return dict(ClientSerializer(client).data)
        return {**ClientSerializer(client).data, "client_secret": secret}


class ProjectListAPI(PortalAPIView):
    def get(self, request: Request) -> Response:
        projects = managed_projects(request).annotate(
            client_count=Count("clients", distinct=True)).distinct().prefetch_related("scopes")
        return Response(ProjectSerializer(projects, many=True).data)


class ClientListAPI(PortalAPIView):
    def get(self, request: Request, project_pk: int) -> Response:
        clients = self.project().clients.prefetch_related("scopes").order_by("created_at", "pk")
        return Response(ClientSerializer(clients, many=True).data)

    @sensitive_variables("secret")
    def post(self, request: Request, project_pk: int) -> Response:
        project = self.project()
        serializer = ClientWriteSerializer(data=request.data, create=True,
                                           context={"project": project})
        try:
            operations.require_enabled(project)
            serializer.is_valid(raise_exception=True)
            client, secret = operations.create_client(
                project, name=serializer.validated_data["name"],
                scopes=serializer.validated_data["scopes"], actor=request.user,
                keys=serializer.registered_keys(),
                require_dpop=serializer.validated_data.get("require_dpop", False))
        except operations.PortalRefusal as e:
            raise api_error(e) from e
        return Response(self.with_secret(client, secret), status=status.HTTP_201_CREATED,
                        headers={"Location": self.client_url(client)})


class ClientDetailAPI(PortalAPIView):
    def get(self, request: Request, project_pk: int, client_id: str) -> Response:
        return Response(ClientSerializer(self.client()).data)

    def patch(self, request: Request, project_pk: int, client_id: str) -> Response:
        client = self.client()
        serializer = ClientWriteSerializer(data=request.data, create=False, partial=True,
                                           context={"project": client.project,
                                                    "client": client})
        try:
            operations.require_enabled(client.project)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            operations.update_client(
                client, actor=request.user, name=data.get("name"), scopes=data.get("scopes"),
                is_active=data.get("is_active"), keys=serializer.registered_keys(),
                require_dpop=data.get("require_dpop"))
        except operations.PortalRefusal as e:
            raise api_error(e) from e
        return Response(ClientSerializer(client).data)

    def delete(self, request: Request, project_pk: int, client_id: str) -> Response:
        try:
            operations.delete_client(self.client(), actor=request.user)
        except operations.PortalRefusal as e:
            raise api_error(e) from e
        return Response(status=status.HTTP_204_NO_CONTENT)


class RegenerateAPI(PortalAPIView):
    @sensitive_variables("secret")
    def post(self, request: Request, project_pk: int, client_id: str) -> Response:
        client = self.client()
        try:
            secret = operations.regenerate_secret(client, actor=request.user)
        except operations.PortalRefusal as e:
            raise api_error(e) from e
        return Response(self.with_secret(client, secret))
