"""Errors of the OAuth endpoints, each carrying its RFC error code, HTTP status and description.

The views render them in one place (``oauth_cc.views.error_response``); lower layers raise them,
translating library errors with ``raise ... from``.
"""

from __future__ import annotations

import re

# RFC 6749 §5.2 and RFC 6750 §3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E,
# printable ASCII without '"' and '\\'. A description may quote what the client sent.
_NOT_DESCRIPTION_TEXT = re.compile(r'[^\x20-\x21\x23-\x5b\x5d-\x7e]')
_REPLACEMENTS = {'"': "'", "\\": "/"}


def description_text(value: str) -> str:
    """``value`` in the characters an ``error_description`` may hold; others become ``?``."""
    return _NOT_DESCRIPTION_TEXT.sub(lambda m: _REPLACEMENTS.get(m.group(), "?"), value)


class OAuthError(Exception):
    """An error response of RFC 6749 §5.2 (and the RFCs that reuse its format)."""

    error = "invalid_request"
    status_code = 400
    default_description = "The request is invalid."

    def __init__(self, description: str | None = None) -> None:
        self.description = description_text(description or self.default_description)
        super().__init__(self.description)

    def as_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    """Client authentication failed (RFC 6749 §5.2). ``basic`` says whether Basic was tried."""

    error = "invalid_client"
    status_code = 401
    default_description = "Client authentication failed."

    def __init__(self, description: str | None = None, *, basic: bool = False) -> None:
        super().__init__(description)
        self.basic = basic


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"
    default_description = "Only the client_credentials grant is supported."


class InvalidScope(OAuthError):
    error = "invalid_scope"
    default_description = "The requested scope is invalid or not permitted for this client."


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"
    default_description = "The client is not authorized to do this."


class InvalidDPoPProof(OAuthError):
    """The token request's DPoP proof is missing (for a client that must send one), malformed
    or invalid (RFC 9449 §5)."""

    error = "invalid_dpop_proof"
    default_description = "The DPoP proof is invalid."


class TooManyAttempts(OAuthError):
    """Client authentication is blocked for a while after too many failures (RFC 6749 §2.3.1)."""

    # RFC 6749 defines no code for this; "slow_down" is the registered token-endpoint code
    # (RFC 8628 §3.5, IANA OAuth Extensions Error registry) whose meaning comes closest.
    error = "slow_down"
    status_code = 429
    default_description = "Too many failed client authentications. Try again later."

    def __init__(self, retry_after: int, description: str | None = None) -> None:
        super().__init__(description)
        self.retry_after = max(1, int(retry_after))


class SigningKeyError(Exception):
    """A signing key cannot be used: it does not decrypt, or its algorithm is unknown."""


class TokenRejected(Exception):
    """An access token is refused. ``description`` says why, for logs and the client."""

    def __init__(self, description: str) -> None:
        self.description = description_text(description)
        super().__init__(self.description)


class InvalidToken(TokenRejected):
    """Malformed, forged, foreign, expired, revoked, or of a disabled client (code 1024)."""


class UnknownProject(TokenRejected):
    """A genuine token whose client or project no longer exists (code 1025)."""
