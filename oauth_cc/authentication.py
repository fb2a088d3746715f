"""``BearerJWTAuthentication``: DRF authentication by an RFC 9068 access token (RFC 6750)."""

from __future__ import annotations

from django.views.decorators.debug import sensitive_variables
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from oauth_cc import bearer_errors
from oauth_cc.acceptance import accept, key_source
from oauth_cc.exceptions import TokenRejected, UnknownProject
from oauth_cc.principal import ClientPrincipal
from oauth_cc.settings import oauth_cc_settings
from oauth_cc.verification import VerifiedToken


class BearerJWTAuthentication(BaseAuthentication):
    """Authenticate ``Authorization: Bearer <token>``.

    Returns None for requests without a Bearer token (other schemes are left to other
    classes), raises ``bearer_errors.BearerError`` (code 1024 or 1025) for a bad one, and on success
    returns ``(ClientPrincipal, VerifiedToken)``: ``request.user`` and ``request.auth``.
    """

    keyword = "bearer"

    # Every variable, here and in the frames it calls (acceptance.accept has no mark of its
    # own): a bearer token is a credential, and error reports must not show it.
    @sensitive_variables()
    def authenticate(self, request: Request) -> tuple[ClientPrincipal, VerifiedToken] | None:
        # The Django request's META itself: DRF's Request forwards it through __getattr__.
        header = getattr(request, "_request", request).META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != self.keyword:
            return None
        token = token.strip()
        if not token or " " in token:
            raise bearer_errors.invalid_token("The Authorization header is not 'Bearer <token>'.")
        try:
            verified = accept(token, key_source())
        except UnknownProject as e:
            raise bearer_errors.project_not_found(e.description) from e
        except TokenRejected as e:
            raise bearer_errors.invalid_token(e.description) from e
        return ClientPrincipal(verified), verified

    def authenticate_header(self, request: Request) -> str:
        """The bare RFC 6750 challenge, for a request that sent no credentials."""
        return f'Bearer realm="{oauth_cc_settings.REALM}"'
