"""The HTTP endpoints: token (RFC 6749 §4.4), JWKS (RFC 7517), metadata (RFC 8414).

Plain Django views: DRF's content negotiation and parsers have nothing to offer a fixed
form-in, JSON-out protocol, and would only cost time on the hottest endpoint.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.urls import NoReverseMatch, reverse
from django.utils.cache import patch_cache_control
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from oauth_cc import audit, clock, dpop, last_used, published_urls, quota, throttle
from oauth_cc import scopes as scope_rules
from oauth_cc.acceptance import verify_access_token, verify_signature_and_claims
from oauth_cc.client_auth import authenticate_client, client_credentials, read_form
from oauth_cc.client_jwks import SIGNING_ALGORITHMS as ASSERTION_ALGORITHMS
from oauth_cc.exceptions import (
    InvalidClient,
    InvalidDPoPProof,
    InvalidRequest,
    OAuthError,
    SigningKeyError,
    TokenRejected,
    TooManyAttempts,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from oauth_cc.keyring import key_ring
from oauth_cc.models import ClientRecord, RevokedToken, Scope, SigningKey
from oauth_cc.settings import oauth_cc_settings
from oauth_cc.tokens import mint_access_token

logger = logging.getLogger("oauth_cc")

CLIENT_CREDENTIALS = "client_credentials"
JSON = "application/json"
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
_DIGITS = re.compile(r"[0-9]{1,10}")
INTROSPECTED_CLAIMS = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "nbf", "jti",
                       "project")


def no_store(response: HttpResponseBase) -> HttpResponseBase:
    """RFC 6749 §5.1: token responses, errors included, must not be cached. Every response
    given here is new and ours, without a ``Cache-Control`` to merge with."""
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def error_response(error: OAuthError, *, realm: str = "oauth") -> HttpResponseBase:
    """The one place OAuth errors become HTTP responses (RFC 6749 §5.2)."""
    response = JsonResponse(error.as_dict(), status=error.status_code)
    if isinstance(error, InvalidClient) and error.basic:
        response["WWW-Authenticate"] = f'Basic realm="{realm}"'
    if isinstance(error, TooManyAttempts):
        response["Retry-After"] = str(error.retry_after)
    return no_store(response)


def parse_expires_in(value: str | None) -> int:
    """The requested lifetime: ``DEFAULT_EXPIRES_IN`` when absent, else 1..``MAX_EXPIRES_IN``."""
    if value is None:
        return oauth_cc_settings.DEFAULT_EXPIRES_IN
    maximum = oauth_cc_settings.MAX_EXPIRES_IN
    if _DIGITS.fullmatch(value) is None or not 1 <= int(value) <= maximum:
        raise InvalidRequest(f"expires_in must be a whole number of seconds from 1 to {maximum}.")
    return int(value)


class OAuthEndpoint(View):
    """Base of the endpoints a client POSTs a form to. Every response is ``no-store``."""

    http_method_names = ["post", "options"]
    #: Hidden from error reports: a client assertion is a credential until it expires, like
    #: a secret.
    sensitive_parameters = ("client_secret", "client_assertion", "token")
    #: The realm of the ``WWW-Authenticate: Basic`` challenge after a failed Basic login.
    www_authenticate_realm = "oauth"
    #: The largest request body read, in bytes.
    max_body_bytes = 16384

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        """The view, CSRF-exempt (clients authenticate themselves; there is no session) and
        with its credentials hidden from error reports. Decorated once here:
        ``method_decorator`` on ``dispatch`` would build both wrappers again per request."""
        view = super().as_view(**initkwargs)
        return csrf_exempt(sensitive_post_parameters(*cls.sensitive_parameters)(view))

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = super().dispatch(request, *args, **kwargs)
        except OAuthError as error:
            response = error_response(error, realm=self.www_authenticate_realm)
        except SigningKeyError:
            logger.exception("No usable signing key.")
            response = JsonResponse(
                {"error": "server_error",
                 "error_description": "The server cannot sign tokens right now."}, status=500)
        return no_store(response)


class TokenView(OAuthEndpoint):
    """``POST /oauth/token``: the client credentials grant (RFC 6749 §4.4).

    Checks in the contract's order, the first failure answering: the request's shape, client
    authentication, ``grant_type``, ``scope``, ``expires_in``; then the DPoP proof, if any
    (RFC 9449), last, so that only a request that would otherwise succeed uses up its ``jti``.
    """

    @sensitive_variables("params")
    def post(self, request: HttpRequest) -> HttpResponse:
        params = read_form(request, self.max_body_bytes)
        credentials = client_credentials(request, params)
        address = throttle.client_address(request)
        client = authenticate_client(credentials, address)
        grant_type = params.get("grant_type")
        if grant_type is None:
            raise InvalidRequest("The grant_type parameter is missing.")
        if grant_type != CLIENT_CREDENTIALS:
            raise UnsupportedGrantType(
                f"Only grant_type={CLIENT_CREDENTIALS} is supported by this endpoint.")
        granted = scope_rules.grant(params.get("scope"), client.scopes)
        expires_in = parse_expires_in(params.get("expires_in"))
        jkt = self.dpop_binding(request, client)
        self.count_token(client, address)
        issued = mint_access_token(client_id=client.client_id, project_id=client.project_id,
                                   scopes=granted, expires_in=expires_in, jkt=jkt)
        last_used.touch(client.pk)
        audit.emit(audit.token_issued, "token_issued", client_id=client.client_id,
                   project_id=client.project_id, jti=issued.jti, scope=issued.scope,
                   expires_in=issued.expires_in, token_type=issued.token_type,
                   remote_addr=address)
        # JsonResponse would build a DjangoJSONEncoder for these four plain values.
        return HttpResponse(json.dumps(issued.response_body()), content_type=JSON)

    def count_token(self, client: ClientRecord, address: str) -> None:
        """Count the token about to be issued against the client's quota (CONTRACT §14), or
        raise ``QuotaExceeded`` (429 ``slow_down``, ``Retry-After``): last of the checks, so
        that only a token that will be issued counts."""
        limit = client.token_quota
        if limit is None:
            return
        try:
            quota.take(client.client_id, limit)
        except quota.QuotaExceeded as refused:
            audit.emit(audit.token_quota_exceeded, "token_quota_exceeded",
                       client_id=client.client_id, project_id=client.project_id, limit=limit,
                       retry_after=refused.retry_after, remote_addr=address)
            raise

    def dpop_binding(self, request: HttpRequest, client: ClientRecord) -> str | None:
        """The thumbprint of the key the request's DPoP proof (RFC 9449 §4.3) proves, to bind
        the token to; None without a proof, unless the client must send one. Raises
        ``InvalidDPoPProof``.

        ``htu`` may name this endpoint as the request reached it (``dpop.request_url``) or as
        the metadata publishes it (``token_endpoint``, which clients that discover us use):
        both are this endpoint, and the published one still works behind a proxy that
        Django's proxy settings do not describe.
        """
        try:
            proof = dpop.proof_header(request.META)
            if proof is None:
                if client.require_dpop:
                    raise InvalidDPoPProof("This client must send a DPoP proof (RFC 9449) with "
                                           "each token request: its tokens are DPoP-bound.")
                return None
            urls = (dpop.request_url(request), published_urls.token_endpoint_url())
            return dpop.verify_proof(proof, method=request.method or "", urls=urls,
                                     now=clock.now()).jkt
        except dpop.InvalidProof as e:
            raise InvalidDPoPProof(e.description) from e


class TokenManagementView(OAuthEndpoint):
    """Base of introspection and revocation: an authenticated client sends a ``token``."""

    #: The endpoint's name in the audit trail.
    audit_name = ""

    @sensitive_variables("params", "token")
    def caller_and_token(self, request: HttpRequest) -> tuple[ClientRecord, str]:
        """The authenticated calling client and the ``token`` parameter."""
        params = read_form(request, self.max_body_bytes)
        credentials = client_credentials(request, params)
        caller = authenticate_client(credentials, throttle.client_address(request),
                                     endpoint=self.audit_name)
        token = params.get("token")
        if token is None:
            raise InvalidRequest("The token parameter is missing.")
        return caller, token


class IntrospectionView(TokenManagementView):
    """``POST /oauth/introspect``: RFC 7662 token introspection for authenticated clients.

    A client sees its own tokens; a client allowed the ``introspection`` scope sees every
    client's. Anything else, and every token that is not active, is ``{"active": false}``.
    """

    audit_name = "introspect"

    @sensitive_variables("token")
    def post(self, request: HttpRequest) -> HttpResponse:
        caller, token = self.caller_and_token(request)
        try:
            verified = verify_access_token(token, key_ring, strict_expiry=True)
        except TokenRejected:
            return JsonResponse({"active": False})
        if verified.client_id != caller.client_id and "introspection" not in caller.scopes:
            return JsonResponse({"active": False})
        claims = verified.claims
        try:
            jkt = dpop.bound_jkt(claims)
        except dpop.InvalidProof:  # bound in a way we never bind tokens: not one of ours
            return JsonResponse({"active": False})
        body = {"active": True, "token_type": dpop.TOKEN_TYPE if jkt else "Bearer",
                **{name: claims[name] for name in INTROSPECTED_CLAIMS if name in claims}}
        if jkt:  # RFC 9449 §6.2: the binding, for resource servers that introspect
            body["cnf"] = {"jkt": jkt}
        return JsonResponse(body)


class RevocationView(TokenManagementView):
    """``POST /oauth/revoke``: RFC 7009 revocation of an access token by its own client."""

    audit_name = "revoke"

    @sensitive_variables("token")
    def post(self, request: HttpRequest) -> HttpResponse:
        caller, token = self.caller_and_token(request)
        # token_type_hint is accepted and not needed: access tokens are all we issue.
        try:
            verified = verify_signature_and_claims(token, key_ring)
        except TokenRejected:
            return HttpResponse(status=200)  # RFC 7009 §2.2: invalid tokens are not an error
        if verified.client_id != caller.client_id:
            raise UnauthorizedClient("A client may revoke only the tokens issued to it.")
        if RevokedToken.objects.revoke(jti=verified.jti, client_id=verified.client_id,
                                       expires_at=verified.expires_at):
            audit.emit(audit.token_revoked, "token_revoked", client_id=verified.client_id,
                       jti=verified.jti)
        RevokedToken.objects.prune()
        return HttpResponse(status=200)


def public_document(document: dict[str, Any]) -> HttpResponse:
    """A JSON document anyone may read and cache: the JWK Set and the metadata.

    ``Access-Control-Allow-Origin: *`` lets code in a browser read them too (as jose's
    ``createRemoteJWKSet`` does there); they carry nothing private and no credentials.
    """
    response = JsonResponse(document)
    patch_cache_control(response, public=True, max_age=oauth_cc_settings.JWKS_MAX_AGE)
    response["Access-Control-Allow-Origin"] = "*"
    return response


# Public documents: no CSRF check, so that a POST gets the 405 it deserves, not a 403.
@method_decorator(csrf_exempt, name="dispatch")
class JWKSView(View):
    """``GET /.well-known/jwks.json``: the public keys that verify our tokens (RFC 7517 §5)."""

    http_method_names = ["get", "head", "options"]

    def get(self, request: HttpRequest) -> HttpResponse:
        key_ring.signing_key()  # creates the first keys if there are none yet
        document = {"keys": [key.jwk() for key in SigningKey.objects.published()]}
        return public_document(document)


@method_decorator(csrf_exempt, name="dispatch")
class MetadataView(View):
    """``GET /.well-known/oauth-authorization-server``: RFC 8414 metadata."""

    http_method_names = ["get", "head", "options"]

    def get(self, request: HttpRequest, issuer_path: str | None = None) -> HttpResponse:
        if issuer_path is not None and issuer_path.strip("/") != oauth_cc_settings.issuer_path:
            raise Http404("No authorization server has this issuer.")
        origin = oauth_cc_settings.issuer_origin
        metadata: dict[str, Any] = {
            "issuer": oauth_cc_settings.ISSUER,
            "token_endpoint": published_urls.token_endpoint_url(),
            "jwks_uri": origin + reverse("oauth_cc:jwks"),
            "grant_types_supported": [CLIENT_CREDENTIALS],
            "token_endpoint_auth_methods_supported": AUTH_METHODS,
            # What a private_key_jwt client may sign its assertion with (RFC 8414 §2).
            "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
            # RFC 9449 §5.1: the algorithms a DPoP proof may be signed with.
            "dpop_signing_alg_values_supported": list(oauth_cc_settings.DPOP_ALGORITHMS),
            # REQUIRED by RFC 8414 §2, and empty: there is no authorization endpoint.
            "response_types_supported": [],
            "scopes_supported": list(Scope.objects.exclude(
                name__in=scope_rules.CLIENT_PERMISSIONS).values_list("name", flat=True)),
        }
        for name in ("introspection", "revocation"):
            try:
                metadata[f"{name}_endpoint"] = origin + reverse(f"oauth_cc:{name}")
            except NoReverseMatch:
                continue
            metadata[f"{name}_endpoint_auth_methods_supported"] = AUTH_METHODS
            metadata[f"{name}_endpoint_auth_signing_alg_values_supported"] = list(
                ASSERTION_ALGORITHMS)
        return public_document(metadata)
