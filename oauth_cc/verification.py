"""Verifying access tokens: signature, header and claims, then client state.

The key is found by the header's ``kid`` among keys we trust, and the algorithm is taken from
that key, never from the token: ``alg: none``, HMAC signed with a public key, or any algorithm
other than the key's fails. Every PyJWT or cryptography error becomes ``InvalidToken`` here.

Keys come from this site's database (``keyring``) or, with ``JWKS_URL``, from the issuer's JWK
Set (``remote_jwks``). Time comes from ``oauth_cc.clock``.

``json.loads`` raises ``RecursionError``, not ``ValueError``, for JSON nested deeper than the
interpreter's recursion limit, so both are caught wherever untrusted bytes are parsed.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

import jwt
from django.views.decorators.debug import sensitive_variables

from oauth_cc import clock, process_cache
from oauth_cc.exceptions import InvalidToken
from oauth_cc.settings import oauth_cc_settings

if TYPE_CHECKING:
    from oauth_cc.keys import PublicKey
    from oauth_cc.models import Project

MAX_TOKEN_LENGTH = 8192
# The identifiers we issue are far shorter; the denylist stores jti and client_id in 64.
MAX_IDENTIFIER_LENGTH = 64
# 9999-12-31T23:59:59Z: a later time cannot be a datetime (the denylist stores exp as one).
MAX_TIMESTAMP = 253_402_300_799
_ASCII_DIGITS = re.compile(r"[0-9]+")
# RFC 9068 §4: "at+jwt", which RFC 7515 §4.1.9 lets be written with its "application/" prefix.
ACCEPTED_TYPES = frozenset({"at+jwt", "application/at+jwt"})
_COMPACT_JWS = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")
_ALGORITHMS = jwt.algorithms.get_default_algorithms()


@dataclass(frozen=True)
class VerificationKey:
    kid: str
    algorithm: str
    key: PublicKey


class KeySource(Protocol):
    def verification_key(self, kid: str) -> VerificationKey | None:
        """The key with this ``kid``, or None; may reload keys, within its own rate limit."""


@dataclass(frozen=True, eq=False)
class VerifiedToken:
    """A verified access token: what ``request.auth`` is. The raw token is not kept."""

    claims: Mapping[str, Any]
    scopes: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scopes", frozenset(str(self.claims.get("scope", "")).split()))

    @property
    def client_id(self) -> str:
        return str(self.claims["client_id"])

    @property
    def project_id(self) -> str:
        return str(self.claims["project"])

    @property
    def jti(self) -> str:
        return str(self.claims["jti"])

    @property
    def expires_at(self) -> float:
        return float(self.claims["exp"])

    @cached_property
    def project(self) -> Project | None:
        """The ``Project`` row, read on first access (None if it no longer exists)."""
        from oauth_cc.models import Project

        return Project.objects.filter(pk=self.project_id).first() \
            if _ASCII_DIGITS.fullmatch(self.project_id) else None

    def __repr__(self) -> str:
        return f"<VerifiedToken client_id={self.client_id} jti={self.jti}>"


class _HeaderCache:
    """Parsed headers by their base64url text: every token one key signs shares its header.

    Bounded, so a flood of distinct forged headers only evicts.
    """

    limit = 256

    def __init__(self) -> None:
        self._parsed: dict[str, tuple[str, str]] = {}

    def kid_and_alg(self, segment: str) -> tuple[str, str]:
        cached = self._parsed.get(segment)
        if cached is not None:
            return cached
        try:
            header = json.loads(_b64decode(segment))
        except (ValueError, RecursionError) as e:
            raise InvalidToken("The token is malformed.") from e
        if not isinstance(header, dict):
            raise InvalidToken("The token is malformed.")
        typ, kid, alg = header.get("typ"), header.get("kid"), header.get("alg")
        if not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYPES:
            raise InvalidToken("The token is not a JWT access token: its typ must be at+jwt.")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("The token names no signing key (kid).")
        if not isinstance(alg, str):
            raise InvalidToken("The token names no algorithm.")
        if "crit" in header:  # RFC 7515 §4.1.11: we understand no extension, so must refuse
            raise InvalidToken("The token requires header extensions (crit) we do not support.")
        if len(self._parsed) >= self.limit:
            self._parsed.clear()
        self._parsed[segment] = (kid, alg)
        return kid, alg

    def clear(self) -> None:
        self._parsed.clear()


_headers = _HeaderCache()


def default_key_source() -> KeySource:
    if oauth_cc_settings.JWKS_URL:
        from oauth_cc.remote_jwks import remote_jwks

        return remote_jwks
    from oauth_cc.keyring import key_ring

    return key_ring


@sensitive_variables()  # a bearer token is a credential: not in error reports
def verify_signature_and_claims(token: str, keys: KeySource | None = None, *,
                                strict_expiry: bool = False) -> VerifiedToken:
    """Verify a token's signature, header and claims. Raises ``InvalidToken``.

    The JWS compact form is split and checked here (three base64url segments, nothing else),
    and the signature is checked by PyJWT's algorithm object for our key's algorithm:
    ``jwt.decode`` would re-validate every character of the token in Python, which costs
    twice the RSA verification itself.
    """
    match = _COMPACT_JWS.fullmatch(token) if isinstance(token, str) else None
    if match is None or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("The token is malformed.")
    header_segment, payload_segment, signature_segment = match.groups()
    kid, alg = _headers.kid_and_alg(header_segment)
    key = (keys or default_key_source()).verification_key(kid)
    if key is None:
        raise InvalidToken("The token was signed by an unknown key.")
    if alg != key.algorithm or key.algorithm not in oauth_cc_settings.ALLOWED_ALGORITHMS:
        raise InvalidToken("The token's algorithm is not the one of its key.")
    try:
        signature = _b64decode(signature_segment)
        signed = f"{header_segment}.{payload_segment}".encode("ascii")
        valid = _ALGORITHMS[key.algorithm].verify(signed, key.key, signature)
    except (ValueError, TypeError, jwt.PyJWTError) as e:
        raise InvalidToken("The token is malformed.") from e
    if not valid:
        raise InvalidToken("The token's signature is invalid.")
    try:
        claims = json.loads(_b64decode(payload_segment))
    except (ValueError, RecursionError) as e:
        raise InvalidToken("The token is malformed.") from e
    if not isinstance(claims, dict):
        raise InvalidToken("The token is malformed.")
    check_claims(claims, strict_expiry=strict_expiry)
    return VerifiedToken(claims)


def _b64decode(segment: str) -> bytes:
    """Decode a base64url segment already checked to hold only base64url characters."""
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _number(claims: Mapping[str, Any], name: str, *, required: bool = True) -> float | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise InvalidToken(f"The token's {name} claim is missing or not a number.")
    if not 0 <= value <= MAX_TIMESTAMP:  # also refuses NaN, and ints too large for a float
        raise InvalidToken(f"The token's {name} claim is not a time we can use.")
    return float(value)


def check_claims(claims: Mapping[str, Any], *, strict_expiry: bool = False) -> None:
    """RFC 9068 §4 claim checks: issuer, audience, lifetime, and the claims we rely on."""
    settings = oauth_cc_settings
    now, leeway = clock.now(), float(settings.LEEWAY_SECONDS)
    if claims.get("iss") != settings.ISSUER:
        raise InvalidToken("The token was issued by another issuer.")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or settings.audience not in audiences:
        raise InvalidToken("The token is meant for another audience.")
    expires = _number(claims, "exp")
    assert expires is not None
    # The issuer judges its own tokens' expiry exactly (RFC 7662 introspection); the leeway is
    # for resource servers whose clocks may lag the issuer's.
    if now >= expires + (0.0 if strict_expiry else leeway):
        raise InvalidToken("The token has expired.")
    not_before = _number(claims, "nbf", required=False)
    if not_before is not None and not_before > now + leeway:
        raise InvalidToken("The token is not valid yet.")
    issued = _number(claims, "iat")
    assert issued is not None
    if issued > now + leeway:
        raise InvalidToken("The token was issued in the future.")
    for name in ("sub", "client_id", "jti", "project"):
        value = claims.get(name)
        if not isinstance(value, str) or not value:
            raise InvalidToken(f"The token's {name} claim is missing.")
        if len(value) > MAX_IDENTIFIER_LENGTH:
            raise InvalidToken(f"The token's {name} claim is too long.")
    if not isinstance(claims.get("scope", ""), str):
        raise InvalidToken("The token's scope claim is not a string.")


@sensitive_variables()  # a bearer token is a credential: not in error reports
def verify_access_token(token: str, keys: KeySource | None = None, *,
                        strict_expiry: bool = False) -> VerifiedToken:
    """Verify a token and, on the issuer's site, its client's state (disabled, revoked, gone).

    Raises ``InvalidToken`` (code 1024) or ``UnknownProject`` (code 1025). In remote mode
    (``JWKS_URL``) there is no database to ask: state is not checked.
    """
    verified = verify_signature_and_claims(token, keys, strict_expiry=strict_expiry)
    if not oauth_cc_settings.JWKS_URL:
        from oauth_cc.state import client_states

        client_states.check(verified)
    return verified


def clear_caches() -> None:
    _headers.clear()


process_cache.register(clear_caches)
