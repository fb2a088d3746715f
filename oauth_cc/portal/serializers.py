"""The JSON shapes of the portal's API: a project, a client (never its secret or hash), and
what a create or an update may send, including how the client authenticates (a secret, or
``private_key_jwt`` with a JWK Set or a ``jwks_uri``: CONTRACT.md §11)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework import serializers

from oauth_cc import client_jwks
from oauth_cc.models import Client, Project, Scope
from oauth_cc.portal import keysets
from oauth_cc.portal.forms import NAME_MAX_LENGTH
from oauth_cc.portal.keysets import CLIENT_SECRET, PRIVATE_KEY_JWT
from oauth_cc.portal.operations import Keys, allowed_scopes


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
    """A client as the portal shows it: never its secret or the secret's hash.

    ``auth_method`` is ``client_secret`` or ``private_key_jwt``; ``key_ids`` lists the ids of
    the keys of a registered JWK Set (a ``kid``, or the key's RFC 7638 thumbprint), and is
    null without one (a secret, or keys at a ``jwks_uri``)."""

    scopes: serializers.SlugRelatedField[Scope] = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="name")
    key_ids = serializers.SerializerMethodField()

    class Meta:
        model = Client
        fields = ("client_id", "name", "scopes", "is_active", "created_at",
                  "secret_updated_at", "last_used_at", "auth_method", "key_ids", "jwks_uri",
                  "require_dpop")
        read_only_fields = fields

    def get_key_ids(self, client: Client) -> list[str] | None:
        return keysets.key_ids(client)


class AllowedScopeField(serializers.SlugRelatedField[Scope]):
    """A scope by name, among those staff allow the project in ``context["project"]``.

    Unknown and not allowed read alike: "Object with name=... does not exist."
    """

    def get_queryset(self) -> QuerySet[Scope]:
        return allowed_scopes(self.context["project"])


class ClientWriteSerializer(serializers.Serializer[Any]):
    """``name`` and ``scopes`` (names among the project's allowed scopes), ``require_dpop``
    (true: DPoP-bound tokens only, RFC 9449; default false), and ``is_active`` for an update.
    A create needs ``name`` and ``scopes``; an update (``partial=True``) sends any of them.
    ``context["project"]`` is the client's project; for an update,
    ``context["client"]`` is the client.

    ``auth_method`` (default ``client_secret``) ``private_key_jwt`` comes with exactly one of
    ``jwks`` (a JWK Set object, or its JSON text) and ``jwks_uri``; on an update, either of
    them alone replaces a ``private_key_jwt`` client's keys. A client goes back to a secret
    through regenerate, whose response shows it once, never through an update.
    ``registered_keys()`` gives the keys to register, if any."""

    name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    scopes = AllowedScopeField(many=True, slug_field="name", allow_empty=False)
    is_active = serializers.BooleanField(required=False)
    require_dpop = serializers.BooleanField(required=False)
    auth_method = serializers.ChoiceField(choices=Client.AuthMethod.choices, required=False)
    jwks = serializers.JSONField(required=False, allow_null=True)
    jwks_uri = serializers.CharField(required=False, allow_blank=True,
                                     max_length=client_jwks.MAX_URI_LENGTH)

    def __init__(self, *args: Any, create: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.create_client = create
        if create:
            del self.fields["is_active"]  # a new client is active

    def validate_jwks(self, value: Any) -> dict[str, Any] | None:
        if value is None or value == "":
            return None
        try:
            return keysets.read_jwk_set(value)
        except DjangoValidationError as e:
            raise serializers.ValidationError(e.messages,
                                              code=getattr(e, "code", None)) from e

    def validate_jwks_uri(self, value: str) -> str:
        if not value:
            return ""
        try:
            return client_jwks.validate_jwks_uri(value)
        except DjangoValidationError as e:
            raise serializers.ValidationError(e.messages,
                                              code=getattr(e, "code", None)) from e

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        client: Client | None = None if self.create_client else self.context["client"]
        current = client.auth_method if client is not None else CLIENT_SECRET
        method = attrs.get("auth_method", current)
        jwks, jwks_uri = attrs.get("jwks"), attrs.get("jwks_uri", "")
        if method == CLIENT_SECRET:
            if current == PRIVATE_KEY_JWT:
                raise serializers.ValidationError({"auth_method": [_(
                    "To give this client a secret again, POST to its regenerate URL: the "
                    "response shows the new secret once.")]}, code="use_regenerate")
            if jwks or jwks_uri:
                key = "jwks" if jwks else "jwks_uri"
                raise serializers.ValidationError({key: [_(
                    'Keys are registered only with "auth_method": "private_key_jwt".')]},
                    code="not_private_key_jwt")
        elif jwks and jwks_uri:
            raise serializers.ValidationError({"jwks_uri": [str(keysets.BOTH_GIVEN)]},
                                              code="both_given")
        elif not jwks and not jwks_uri and current != PRIVATE_KEY_JWT:
            raise serializers.ValidationError({"jwks": [str(keysets.NONE_GIVEN)]},
                                              code="required")
        return attrs

    def registered_keys(self) -> Keys | None:
        """The keys a valid request registers (making or keeping the client
        ``private_key_jwt``), or None when it registers none."""
        data = self.validated_data
        if data.get("jwks") or data.get("jwks_uri"):
            return Keys(jwks=data.get("jwks"), jwks_uri=data.get("jwks_uri", ""))
        return None
