"""drf-spectacular support: ``BearerJWTAuthentication`` as an OAuth2 client-credentials scheme.

``OAuthCCConfig.ready()`` imports this module only when drf-spectacular is installed (the
``[openapi]`` extra); defining ``BearerJWTScheme`` registers it, as drf-spectacular's extensions
register themselves when subclassed. The schema then has one ``oauth2`` security scheme with a
``clientCredentials`` flow (RFC 6749 §4.4): ``tokenUrl`` is our token endpoint at the issuer's
origin, the scopes are the ``Scope`` table with their descriptions. Each operation whose view
authenticates with ``BearerJWTAuthentication`` requires the scopes its ``HasScope`` permissions
require:

- ``required_scopes = ["a", "b"]``, ``HasScope.of("a", "b")`` and ``HasScope.of("a") &
  HasScope.of("b")``: one requirement, ``{"OAuth2": ["a", "b"]}``;
- ``HasScope.of("a") | HasScope.of("b")``: two alternative requirements, ``a`` or ``b``;
- what a requirement cannot say (``~HasScope.of("admin")``: a token *without* a scope; another
  permission class, which decides by something other than scopes) adds no scope.

So a requirement is exact for ``HasScope`` and its ``&``/``|`` compositions, and otherwise
names scopes a token must carry without promising they are enough: ``~HasScope.of("admin")``
alone is the scheme with no scopes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import DatabaseError
from django.urls import NoReverseMatch
from drf_spectacular.drainage import warn
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.settings import spectacular_settings
from rest_framework import permissions as drf_permissions
from rest_framework.views import APIView

from oauth_cc import published_urls
from oauth_cc.models import Client, Scope
from oauth_cc.permissions import HasScope, _AnyOf  # _AnyOf is HasScope's "|"
from oauth_cc.scopes import CLIENT_PERMISSIONS
from oauth_cc.settings import oauth_cc_settings

if TYPE_CHECKING:
    from drf_spectacular.openapi import AutoSchema

#: Alternatives, any one of which admits a token: the scopes a token must all carry.
Alternatives = list[tuple[str, ...]]
#: "Any token": one alternative that asks for no scope.
ANY_TOKEN: Alternatives = [()]
#: ``Client``'s DPoP switch (RFC 9449), when the model has one.
DPOP_FIELD: str = "require_dpop"


def _minimal(alternatives: Iterable[tuple[str, ...]]) -> Alternatives:
    """The alternatives without repeats and without those implied by another: a token with
    ``a`` and ``b`` has ``a``, so ``[(a,), (a, b)]`` is just ``[(a,)]``."""
    candidates = list(alternatives)
    as_sets = [frozenset(scopes) for scopes in candidates]
    return [scopes for index, (scopes, mine) in enumerate(zip(candidates, as_sets, strict=True))
            if not any(other < mine or (other == mine and earlier < index)
                       for earlier, other in enumerate(as_sets))]


def both(first: Alternatives, second: Alternatives) -> Alternatives:
    """``first & second``: every pairing of an alternative of each, their scopes joined."""
    return _minimal(tuple(dict.fromkeys(a + b)) for a in first for b in second)


def _operands(composition: Any) -> tuple[Any, Any]:
    return composition.op1, composition.op2


def scope_alternatives(permission: Any, view: APIView) -> Alternatives:
    """The scope sets, any one of which a token must carry for ``permission`` to admit it.

    ``permission`` is an instance from ``view.get_permissions()``, or an operand of one of
    DRF's ``&``/``|``/``~`` compositions. Raises ``ImproperlyConfigured`` as ``HasScope``
    does for a view that declares no ``required_scopes``.
    """
    if isinstance(permission, HasScope):
        return [tuple(dict.fromkeys(permission.required_scopes(view)))]
    if isinstance(permission, drf_permissions.AND):
        first, second = _operands(permission)
        return both(scope_alternatives(first, view), scope_alternatives(second, view))
    if isinstance(permission, drf_permissions.OR | _AnyOf):
        first, second = _operands(permission)
        return _minimal([*scope_alternatives(first, view), *scope_alternatives(second, view)])
    # ~ (ours or DRF's NOT) and permissions of other kinds: OpenAPI has no way to say "a token
    # without this scope" or "a staff user", so they ask for no scope.
    return ANY_TOKEN


def dpop_required_by_a_client() -> bool:
    """Whether an active client must use DPoP (RFC 9449); False where ``Client`` has no
    ``require_dpop`` field, i.e. before DPoP support."""
    try:
        Client._meta.get_field(DPOP_FIELD)
    except FieldDoesNotExist:
        return False
    return Client.objects.filter(**{DPOP_FIELD: True}, is_active=True).exists()


class BearerJWTScheme(OpenApiAuthenticationExtension):
    """``BearerJWTAuthentication`` (and its subclasses) as an ``oauth2`` security scheme.

    Customise by subclassing with ``priority = 1`` and overriding ``name`` (the key under
    ``components.securitySchemes``) or the ``token_url``/``scopes``/``description`` hooks.
    """

    target_class = "oauth_cc.authentication.BearerJWTAuthentication"
    match_subclasses = True
    # drf-spectacular skips, without a warning, an extension whose target cannot be imported.
    optional = True
    name = "OAuth2"

    def get_security_requirement(self, auto_schema: AutoSchema) -> list[dict[str, list[Any]]]:
        view = auto_schema.view
        alternatives = ANY_TOKEN
        try:
            # view.permission_classes are all required: "&" across the list.
            for permission in view.get_permissions():
                alternatives = both(alternatives, scope_alternatives(permission, view))
        except ImproperlyConfigured as e:
            warn(f"{e} Its operations list no scopes.")
            alternatives = ANY_TOKEN
        return [{self.name: list(scopes)} for scopes in alternatives]

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        # drf-spectacular asks once per operation: build it (database queries) only once.
        try:
            return dict(auto_schema.registry[ResolvedComponent(
                name=self.name, type=ResolvedComponent.SECURITY_SCHEMA)].schema)
        except KeyError:
            pass
        flow = {"tokenUrl": self.token_url(), "scopes": self.scopes()}
        return {"type": "oauth2", "description": self.description(),
                "flows": {"clientCredentials": flow}}

    def token_url(self) -> str:
        """The issuer's origin and the path where ``oauth_cc.urls`` mounts the token endpoint,
        as in the RFC 8414 metadata; ``SPECTACULAR_SETTINGS["OAUTH2_TOKEN_URL"]`` where this
        site does not mount it (a resource server in remote mode)."""
        try:
            return published_urls.token_endpoint_url()
        except NoReverseMatch:
            pass
        configured: str | None = spectacular_settings.OAUTH2_TOKEN_URL
        if configured:
            return configured
        guess = oauth_cc_settings.issuer_origin + "/oauth/token"
        warn("oauth_cc's token endpoint is not mounted here (oauth_cc.urls): assuming "
             f"{guess}. Set SPECTACULAR_SETTINGS['OAUTH2_TOKEN_URL'] to the issuer's.")
        return guess

    def scopes(self) -> dict[str, str]:
        """Scope names and descriptions from ``Scope``, without the client permissions that
        no token carries (as the metadata's ``scopes_supported``)."""
        try:
            rows: Sequence[tuple[str, str]] = list(Scope.objects.exclude(
                name__in=CLIENT_PERMISSIONS).order_by("name").values_list("name", "description"))
        except DatabaseError as e:  # e.g. a schema built before migrate
            warn(f"oauth_cc could not read its scopes ({e}); the OAuth2 scheme lists none.")
            return {}
        return dict(rows)

    def description(self) -> str:
        text = ("OAuth2 client credentials (RFC 6749 §4.4). POST grant_type=client_credentials "
                "to the token endpoint with your client id and secret (HTTP Basic, or "
                "client_id and client_secret in the form body), then send the access token as "
                "`Authorization: Bearer <token>`. A token lasts "
                f"{oauth_cc_settings.DEFAULT_EXPIRES_IN} seconds: reuse it until it expires.")
        if dpop_required_by_a_client():
            text += (" Clients set to require DPoP (RFC 9449) get tokens bound to their key, "
                     "sent as `Authorization: DPoP <token>` with a DPoP proof per request, "
                     "which this page cannot make.")
        return text
