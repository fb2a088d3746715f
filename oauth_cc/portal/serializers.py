"""The JSON shapes of the portal's API: a project, a client (never its secret or hash), and
what a create or an update may send."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers

from oauth_cc.models import Client, Project, Scope
from oauth_cc.portal.forms import NAME_MAX_LENGTH
from oauth_cc.portal.operations import allowed_scopes


class ScopeSerializer(serializers.ModelSerializer[Scope]):
    class Meta:
        model = Scope
        fields = ("name", "description")
        read_only_fields = fields


class ProjectSerializer(serializers.ModelSerializer[Project]):
    """A project the user may manage; ``allowed_scopes`` is what its clients may be given."""

    allowed_scopes = ScopeSerializer(source="scopes", many=True, read_only=True)
    clients = serializers.IntegerField(source="client_count", read_only=True)

    class Meta:
        model = Project
        fields = ("id", "name", "is_active", "allowed_scopes", "clients")
        read_only_fields = fields


class ClientSerializer(serializers.ModelSerializer[Client]):
    """A client as the portal shows it: never its secret or the secret's hash."""

    scopes: serializers.SlugRelatedField[Scope] = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="name")

    class Meta:
        model = Client
        fields = ("client_id", "name", "scopes", "is_active", "created_at",
                  "secret_updated_at", "last_used_at")
        read_only_fields = fields


class AllowedScopeField(serializers.SlugRelatedField[Scope]):
    """A scope by name, among those staff allow the project in ``context["project"]``.

    Unknown and not allowed read alike: "Object with name=... does not exist."
    """

    def get_queryset(self) -> QuerySet[Scope]:
        return allowed_scopes(self.context["project"])


class ClientWriteSerializer(serializers.Serializer[Any]):
    """``name`` and ``scopes`` (names among the project's allowed scopes), and ``is_active``
    for an update. A create needs ``name`` and ``scopes``; an update (``partial=True``) sends
    any of them. ``context["project"]`` is the client's project."""

    name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    scopes = AllowedScopeField(many=True, slug_field="name", allow_empty=False)
    is_active = serializers.BooleanField(required=False)

    def __init__(self, *args: Any, create: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if create:
            del self.fields["is_active"]  # a new client is active
