"""``ClientRecord``: what a worker keeps of a client, as a plain value."""

from __future__ import annotations

from dataclasses import dataclass

from django.views.decorators.debug import sensitive_variables

from oauth_cc import clock, credentials
from oauth_cc.settings import oauth_cc_settings

# The values of Client.auth_method (Client.AuthMethod), here so that a record needs no model.
CLIENT_SECRET = "client_secret"  # noqa: S105 - a method's name, not a secret
PRIVATE_KEY_JWT = "private_key_jwt"


@dataclass(frozen=True)
class ClientRecord:
    """What a worker keeps of a client: all the token endpoint and verification need of it.

    A value, read in one query (``ClientManager.records``) and cached per worker
    (``state.clients``); checking a secret against it asks nothing of the database.
    """

    pk: int
    client_id: str
    project_id: int
    secret_hash: str
    #: The secret before the last regeneration, and when it stops working (epoch seconds).
    previous_secret_hash: str
    previous_secret_expires_at: float | None
    is_active: bool
    project_is_active: bool
    scopes: tuple[str, ...]
    #: ``client_secret`` or ``private_key_jwt`` (``Client.AuthMethod``).
    auth_method: str = CLIENT_SECRET
    #: A private_key_jwt client's registered JWK Set as canonical JSON text ("" if none): a
    #: string, so the record stays a value; ``client_keys.inline_keys`` parses it once.
    jwks: str = ""
    jwks_uri: str = ""
    #: Its tokens must be DPoP-bound: a token request without a DPoP proof is refused.
    require_dpop: bool = False
    #: Its own cap on tokens per sliding hour; None: the site's TOKENS_PER_CLIENT_PER_HOUR.
    tokens_per_hour: int | None = None

    @property
    def token_quota(self) -> int | None:
        """How many tokens it may get in an hour (CONTRACT §14), or None for no limit."""
        if self.tokens_per_hour is not None:
            return self.tokens_per_hour
        return oauth_cc_settings.TOKENS_PER_CLIENT_PER_HOUR

    @property
    def uses_private_key_jwt(self) -> bool:
        return self.auth_method == PRIVATE_KEY_JWT

    @sensitive_variables("secret")
    def check_secret(self, secret: str, now: float | None = None) -> tuple[bool, bool]:
        """``(matches, needs_rehash)`` for ``secret``, honouring the rotation grace period:
        the previous secret matches until ``previous_secret_expires_at``. A client without a
        secret (private_key_jwt) matches nothing."""
        matches, rehash = credentials.check_secret(secret, self.secret_hash)
        if matches or not self.previous_secret_hash or self.previous_secret_expires_at is None:
            return matches, rehash
        if (clock.now() if now is None else now) >= self.previous_secret_expires_at:
            return False, False
        return credentials.check_secret(secret, self.previous_secret_hash)[0], False

    def __repr__(self) -> str:
        return f"<ClientRecord {self.client_id}>"
