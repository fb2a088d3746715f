"""Verifying an access token: a pure function of (token, key source, expectations, now, leeway).

The key is found by the header's ``kid`` among the keys the source trusts, and the algorithm is
taken from that key, never from the token: ``alg: none``, HMAC signed with a public key, or any
algorithm other than the key's fails. Every cryptography error becomes ``InvalidToken``
here. The compact form is read strictly (``jose``): one token, one spelling.

Which key source, and what else a token must pass on this site (its client's state, the
verified-token cache), is decided one layer up, in ``acceptance``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from cryptography.exceptions import InvalidSignature
from django.views.decorators.debug import sensitive_variables

from oauth_cc import jose
from oauth_cc.cache import TTLMap
from oauth_cc.exceptions import InvalidToken
from oauth_cc.keys import VerificationKey

if TYPE_CHECKING:
    from oauth_cc.models import Project

MAX_TOKEN_LENGTH = 8192
# The identifiers we issue are far shorter; the denylist stores jti and client_id in 64.
MAX_IDENTIFIER_LENGTH = 64
_ASCII_DIGITS = re.compile(r"[0-9]+")
# RFC 9068 §4: "at+jwt", which RFC 7515 §4.1.9 lets be written with its "application/" prefix.
ACCEPTED_TYPES = frozenset({"at+jwt", "application/at+jwt"})


class KeySource(Protocol):
    def verification_key(self, kid: str) -> VerificationKey | None:
        """The key with this ``kid``, or None; may reload keys, within its own rate limit."""


@dataclass(frozen=True)
class Expected:
    """What a token must say to be accepted here: its issuer, an audience, the algorithms."""

    issuer: str
    audience: str
    algorithms: frozenset[str]


class VerifiedToken:
    """A verified access token: what ``request.auth`` is. The raw token is not kept.

    ``claims`` are the token's; ``kid`` names the key that verified it; ``scopes`` is the set
    of its ``scope`` claim; ``client_id`` and ``project_id`` are its ``client_id`` and
    ``project`` claims (every request reads them: they are attributes, not properties).
    """

    def __init__(self, claims: Mapping[str, Any], kid: str = "",
                 scopes: frozenset[str] | None = None) -> None:
        self.claims = claims
        self.kid = kid
        self.scopes = scopes if scopes is not None else frozenset(
            str(claims.get("scope", "")).split())
        self.client_id = str(claims.get("client_id", ""))
        self.project_id = str(claims.get("project", ""))

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


# Parsed headers by their text: every token one key signs shares its header. Bounded, so a
# flood of distinct forged headers only evicts; only canonical text is ever stored, so
# another spelling of a cached header misses it and is refused.
_headers: TTLMap[str, tuple[str, str]] = TTLMap(ttl=lambda: float("inf"), limit=256)


def _kid_and_alg(segment: str) -> tuple[str, str]:
    cached = _headers.get(segment)
    if cached is not None:
        return cached
    header = _json_object(segment, "header")
    typ, kid, alg = header.get("typ"), header.get("kid"), header.get("alg")
    if not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYPES:
        raise InvalidToken("The token is not a JWT access token: its typ must be at+jwt.")
    if not isinstance(kid, str) or not kid:
        raise InvalidToken("The token names no signing key (kid).")
    if not isinstance(alg, str):
        raise InvalidToken("The token names no algorithm.")
    if "crit" in header:  # RFC 7515 §4.1.11: we understand no extension, so must refuse
        raise InvalidToken("The token requires header extensions (crit) we do not support.")
    _headers.put(segment, (kid, alg))
    return kid, alg


def _json_object(segment: str, part: str) -> dict[str, Any]:
    try:
        return jose.json_object(segment, part)
    except jose.MalformedJWS as e:
        raise InvalidToken(f"The token's {e}") from e


@sensitive_variables()  # a bearer token is a credential: not in error reports
def verify(token: str, keys: KeySource, expected: Expected, *, now: float, leeway: float,
           strict_expiry: bool = False) -> VerifiedToken:
    """Verify a token's signature, header and claims at ``now``. Raises ``InvalidToken``."""
    return verify_with_key(token, keys, expected, now=now, leeway=leeway,
                           strict_expiry=strict_expiry)[0]


@sensitive_variables()  # a bearer token is a credential: not in error reports
def verify_with_key(token: str, keys: KeySource, expected: Expected, *, now: float,
                    leeway: float, strict_expiry: bool = False
                    ) -> tuple[VerifiedToken, VerificationKey]:
    """``verify``, returning the key that verified the token too.

    ``strict_expiry`` judges ``exp`` without ``leeway`` (the issuer judging its own tokens).
    The compact form is split and checked here, and the signature by the key's own verifier
    (``keys.signature_verifier``, which client assertions and DPoP proofs use too):
    ``jwt.decode`` would re-validate every character of the token in Python, which costs
    twice the RSA verification itself.
    """
    try:
        header_segment, payload_segment, signature_segment = jose.split(
            token, MAX_TOKEN_LENGTH)
    except jose.MalformedJWS as e:
        raise InvalidToken("The token is malformed.") from e
    kid, alg = _kid_and_alg(header_segment)
    key = keys.verification_key(kid)
    if key is None:
        raise InvalidToken("The token was signed by an unknown key.")
    if alg != key.algorithm or alg not in expected.algorithms:
        raise InvalidToken("The token's algorithm is not the one of its key.")
    try:
        signature = jose.b64decode(signature_segment, "signature")
    except jose.MalformedJWS as e:
        raise InvalidToken(f"The token's {e}") from e
    # ASCII (jose.split checked it), so this cannot fail.
    signed = token[:len(header_segment) + 1 + len(payload_segment)].encode("ascii")
    try:
        key.verify(signature, signed)
    except InvalidSignature as e:
        raise InvalidToken("The token's signature is invalid.") from e
    except (ValueError, TypeError) as e:
        raise InvalidToken("The token is malformed.") from e
    claims = _json_object(payload_segment, "payload")
    check_claims(claims, expected, now=now, leeway=leeway, strict_expiry=strict_expiry)
    return VerifiedToken(claims, kid), key


_NUMBER_TYPES = (int, float)  # bool is a subclass of int: compared by type, it is not one
_IDENTIFIERS = ("sub", "client_id", "jti", "project")  # the claims we rely on, all strings


def _time(claims: Mapping[str, Any], name: str) -> float:
    """A time claim, which must be a number (not a bool) we can use as a time."""
    value: Any = claims.get(name)
    if type(value) not in _NUMBER_TYPES:
        raise InvalidToken(f"The token's {name} claim is missing or not a number.")
    # Also refuses NaN, and ints too large for a float; the denylist stores exp as a datetime.
    if not 0 <= value <= jose.MAX_TIMESTAMP:
        raise InvalidToken(f"The token's {name} claim is not a time we can use.")
    return float(value)


def check_claims(claims: Mapping[str, Any], expected: Expected, *, now: float, leeway: float,
                 strict_expiry: bool = False) -> None:
    """RFC 9068 §4 claim checks: issuer, audience, lifetime, and the claims we rely on."""
    if claims.get("iss") != expected.issuer:
        raise InvalidToken("The token was issued by another issuer.")
    audience = claims.get("aud")
    if audience != expected.audience and (
            type(audience) is not list or expected.audience not in audience):
        raise InvalidToken("The token is meant for another audience.")
    check_lifetime(_time(claims, "exp"),
                   _time(claims, "nbf") if "nbf" in claims else None,
                   now=now, leeway=leeway, strict_expiry=strict_expiry)
    if _time(claims, "iat") > now + leeway:
        raise InvalidToken("The token was issued in the future.")
    for name in _IDENTIFIERS:
        value = claims.get(name)
        if type(value) is not str or not value:
            raise InvalidToken(f"The token's {name} claim is missing.")
        if len(value) > MAX_IDENTIFIER_LENGTH:
            raise InvalidToken(f"The token's {name} claim is too long.")
    if type(claims.get("scope", "")) is not str:
        raise InvalidToken("The token's scope claim is not a string.")


def check_lifetime(expires: float, not_before: float | None, *, now: float, leeway: float,
                   strict_expiry: bool = False) -> None:
    """``exp`` and ``nbf`` at ``now``: what changes for a token already verified once."""
    # The issuer judges its own tokens' expiry exactly (RFC 7662 introspection); the leeway is
    # for resource servers whose clocks may lag the issuer's.
    if now >= expires + (0.0 if strict_expiry else leeway):
        raise InvalidToken("The token has expired.")
    if not_before is not None and not_before > now + leeway:
        raise InvalidToken("The token is not valid yet.")
