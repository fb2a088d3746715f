"""``BearerJWTAuthentication``: DRF authentication by an RFC 9068 access token (RFC 6750), sent
as a bearer token, or DPoP-bound and sent with a proof of its key (RFC 9449 §7)."""

from __future__ import annotations

from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from oauth_cc import bearer_errors, clock, dpop
from oauth_cc.acceptance import accept, key_source
from oauth_cc.exceptions import TokenRejected, UnknownProject
from oauth_cc.principal import ClientPrincipal
from oauth_cc.settings import oauth_cc_settings
from oauth_cc.verification import VerifiedToken


class BearerJWTAuthentication(BaseAuthentication):
    """Authenticate ``Authorization: Bearer <token>``, and ``Authorization: DPoP <token>``
    with a ``DPoP`` proof header for a DPoP-bound token (RFC 9449 §7.1).

    Returns None for requests without a Bearer or DPoP token (other schemes are left to
    other classes), raises ``bearer_errors.BearerError`` (code 1024 or 1025) for a bad one,
    and on success returns ``(ClientPrincipal, VerifiedToken)``: ``request.user`` and
    ``request.auth``. A DPoP-bound token sent as Bearer, and any refused DPoP request, is
    refused with a ``DPoP`` challenge.
    """

    keyword = "bearer"

    # Every variable, here and in the frames it calls (acceptance.accept has no mark of its
    # own): a bearer token is a credential, and error reports must not show it.
    @sensitive_variables()
    def authenticate(self, request: Request) -> tuple[ClientPrincipal, VerifiedToken] | None:
        # The Django request itself: DRF's Request forwards META through __getattr__.
        django_request = getattr(request, "_request", request)
        header = django_request.META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        scheme = scheme.lower()
        if scheme != self.keyword:
            if scheme == dpop.KEYWORD:
                return self._authenticate_dpop(django_request, token)
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
        if "cnf" in verified.claims:
            # RFC 9449 §7.2: a DPoP-bound token presented as a bearer token is refused, or
            # whoever stole it could use it without the key.
            raise bearer_errors.invalid_token(
                "This token is bound to a key (cnf): send it as 'Authorization: DPoP <token>' "
                "with a DPoP proof.", scheme=bearer_errors.DPOP)
        return ClientPrincipal(verified), verified

    def _authenticate_dpop(self, request: HttpRequest, token: str
                           ) -> tuple[ClientPrincipal, VerifiedToken]:
        """``Authorization: DPoP <token>``: the token as for Bearer, then its binding and the
        request's proof (RFC 9449 §4.3, §7.1), checked on every request (the verified-token
        cache remembers the token, never a proof). Raises ``bearer_errors.BearerError``.

        Called only by ``authenticate``, whose ``sensitive_variables()`` hides this frame's
        variables too."""
        token = token.strip()
        if not token or " " in token:
            raise bearer_errors.invalid_token("The Authorization header is not 'DPoP <token>'.",
                                              scheme=bearer_errors.DPOP)
        try:
            verified = accept(token, key_source())
        except UnknownProject as e:
            raise bearer_errors.project_not_found(e.description,
                                                  scheme=bearer_errors.DPOP) from e
        except TokenRejected as e:
            raise bearer_errors.invalid_token(e.description, scheme=bearer_errors.DPOP) from e
        try:
            jkt = dpop.bound_jkt(verified.claims)
            if jkt is None:
                # RFC 9449 §7.1-7.2: the DPoP scheme is for DPoP-bound tokens; a bearer
                # token sent with it, even with a valid proof, is refused, not downgraded.
                raise dpop.InvalidProof("This token is not DPoP-bound: send it as "
                                        "'Authorization: Bearer <token>'.")
            proof = dpop.proof_header(request.META)
            if proof is None:
                raise dpop.InvalidProof("A DPoP-bound token needs a DPoP proof header.")
            dpop.verify_proof(proof, method=request.method or "",
                              urls=(dpop.request_url(request),), now=clock.now(),
                              access_token=token, jkt=jkt)
        except dpop.InvalidProof as e:
            raise bearer_errors.invalid_token(e.description, scheme=bearer_errors.DPOP) from e
        return ClientPrincipal(verified), verified

    def authenticate_header(self, request: Request) -> str:
        """The bare RFC 6750 challenge, for a request that sent no credentials."""
        return f'Bearer realm="{oauth_cc_settings.REALM}"'
