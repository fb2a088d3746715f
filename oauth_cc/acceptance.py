"""Which access tokens this site accepts: ``verification`` with this site's keys and
expectations, plus what a token must pass here beyond its signature.

The DRF authentication class and the introspection and revocation endpoints call this module;
``verification`` below it is a pure function, and the key sources and client state are the
layers it wires together:

- the key source: this site's own keys (``keyring``), or with ``JWKS_URL`` the issuer's JWK
  Set (``remote_jwks``);
- the client state (``state``): a disabled or deleted client or project, a revoked token; not
  in remote mode, which has no database;
- the verified-token cache: clients reuse a token for its whole life (the product document
  tells them to), so most requests carry a token this worker has verified before. It is kept,
  by its whole text, until its ``exp`` (plus the leeway), and used only while the key that
  verified it is still in the key set; every use re-checks ``exp``/``nbf`` against now and
  the client state, so disabling, revoking and rotating work exactly as without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from django.views.decorators.debug import sensitive_variables

from oauth_cc import clock, process_cache, state
from oauth_cc.cache import TTLMap
from oauth_cc.keyring import key_ring
from oauth_cc.keys import VerificationKey
from oauth_cc.remote_jwks import remote_jwks
from oauth_cc.settings import oauth_cc_settings
from oauth_cc.verification import (
    Expected,
    KeySource,
    VerifiedToken,
    check_lifetime,
    verify_with_key,
)

# Longer tokens are verified every time: none of ours comes near, and a flood of long forged
# ones must not fill memory.
MAX_CACHED_TOKEN_LENGTH = 4096
VERIFIED_TOKENS_LIMIT = 10_000


class _Verified:
    """A verified token as remembered: never handed out itself (see ``_verify``)."""

    __slots__ = ("claims", "expires", "key", "kid", "not_before", "scopes")

    def __init__(self, claims: Mapping[str, object], kid: str, key: VerificationKey,
                 scopes: frozenset[str], expires: float, not_before: float | None) -> None:
        self.claims = claims  # read-only: every use of the token shares it
        self.kid = kid
        self.key = key
        self.scopes = scopes
        self.expires = expires
        self.not_before = not_before


_verified: TTLMap[str, _Verified] = TTLMap(ttl=lambda: 0.0, limit=VERIFIED_TOKENS_LIMIT)
_expected: list[Expected] = []  # built once per settings (process_cache clears it)
process_cache.register(_expected.clear)


def _same_key(current: VerificationKey | None, remembered: VerificationKey) -> bool:
    # Key sources keep a key's object while the key stays (reloads included): "is" answers
    # at once, and "==" covers a source that rebuilt it.
    return current is remembered or current == remembered


def key_source() -> KeySource:
    """This site's key source: the issuer's JWK Set in remote mode, else its own keys."""
    return remote_jwks if oauth_cc_settings.JWKS_URL else key_ring


def expected() -> Expected:
    """What tokens must say here, from the settings."""
    if not _expected:
        settings = oauth_cc_settings
        _expected.append(Expected(settings.ISSUER, settings.audience,
                                  frozenset(settings.ALLOWED_ALGORITHMS)))
    return _expected[0]


@sensitive_variables()  # a bearer token is a credential: not in error reports
def verify_signature_and_claims(token: str, keys: KeySource | None = None, *,
                                strict_expiry: bool = False) -> VerifiedToken:
    """A token verified with this site's keys and expectations, its client's state unchecked.
    Raises ``InvalidToken``."""
    return _verify(token, keys or key_source(), strict_expiry)


@sensitive_variables()  # a bearer token is a credential: not in error reports
def verify_access_token(token: str, keys: KeySource | None = None, *,
                        strict_expiry: bool = False) -> VerifiedToken:
    """A token this site accepts: verified, and on the issuer's site, its client's state
    checked (disabled, revoked, gone). Raises ``InvalidToken`` (code 1024) or
    ``UnknownProject`` (code 1025). In remote mode (``JWKS_URL``) there is no database to ask:
    state is not checked.
    """
    return accept(token, keys or key_source(), strict_expiry)


def accept(token: str, keys: KeySource, strict_expiry: bool = False) -> VerifiedToken:
    """``verify_access_token``, for a caller that already holds the token as a sensitive
    variable: the API's hot path (``BearerJWTAuthentication``), which calls it directly to
    spare a wrapper. Its callers keep every local variable out of error reports
    (``sensitive_variables()``), and that covers the frames they call too.
    """
    verified = _verify(token, keys, strict_expiry)
    if not oauth_cc_settings.JWKS_URL:
        state.check(verified)
    return verified


def _verify(token: str, keys: KeySource, strict_expiry: bool) -> VerifiedToken:
    # Called only by functions marked sensitive_variables(), which hide this frame's
    # variables from error reports too (Django looks up the stack for the nearest mark).
    now, leeway = clock.now(), oauth_cc_settings.LEEWAY_SECONDS
    cacheable = type(token) is str and len(token) <= MAX_CACHED_TOKEN_LENGTH
    remembered = _verified.get(token) if cacheable else None
    if remembered is not None and _same_key(keys.verification_key(remembered.kid),
                                            remembered.key):
        check_lifetime(remembered.expires, remembered.not_before, now=now, leeway=leeway,
                       strict_expiry=strict_expiry)
        # A new object each time: request.auth.project is read per request, not per token.
        return VerifiedToken(remembered.claims, remembered.kid, remembered.scopes)
    verified, key = verify_with_key(token, keys, expected(), now=now, leeway=leeway,
                                    strict_expiry=strict_expiry)
    if cacheable:
        claims = verified.claims
        expires = float(claims["exp"])
        not_before = claims.get("nbf")
        # Read-only for every request that gets it, this one included: a view that changed
        # request.auth.claims would otherwise change what later requests are judged by. The
        # dict was made by the JSON decoder for this token: nothing else holds it. A DPoP-bound
        # token's cnf is kept, read-only too: every request's proof is checked against its
        # jkt (never the proof itself: that is checked anew each time).
        confirmation = claims.get("cnf")
        if type(confirmation) is dict:
            claims = {**claims, "cnf": MappingProxyType(confirmation)}
        verified.claims = MappingProxyType(claims)
        _verified.put(token, _Verified(
            verified.claims, verified.kid, key, verified.scopes, expires,
            None if not_before is None else float(not_before)),
            expires_at=clock.monotonic() + (expires + leeway - now))
    return verified
