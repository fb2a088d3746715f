"""Verifying access tokens: signature, header and claims, then client state.

The key is found by the header's ``kid`` among keys we trust, and the algorithm is taken from
that key, never from the token: ``alg: none``, HMAC signed with a public key, or any algorithm
other than the key's fails. Every PyJWT or cryptography error becomes ``InvalidToken`` here.

Keys come from this site's database (``keyring``) or, with ``JWKS_URL``, from the issuer's JWK
Set (``remote_jwks``). Time comes from ``oauth_cc.clock``.

One token has one spelling: base64url must be canonical (no padding, unused bits zero) and
JSON must be UTF-8 without a byte order mark, with no member named twice, so no token can be
rewritten into another that verifies, and no member read one way here and another elsewhere.

``json`` raises ``RecursionError``, not ``ValueError``, for JSON nested deeper than the
interpreter's recursion limit, so both are caught wherever untrusted bytes are parsed.
"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
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
# The characters a canonical segment may end with, by its length mod 4 (RFC 4648 §3.5): the
# last of 2 carries 2 data bits and 4 unused ones, the last of 3 carries 4 and 2, and unused
# bits must be zero; no base64 text is 1 more than a multiple of 4 long. This test of the last
# character costs ~0.05 µs; decoding and re-encoding to compare costs ~1 µs per segment.
_CANONICAL_LAST = (
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    "",
    "AQgw",
    "AEIMQUYcgkosw048",
)


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
        # Only a canonical segment is ever stored, so another spelling of a cached header
        # misses the cache and is refused here.
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
    signature = _b64decode(signature_segment, "signature")
    try:
        signed = f"{header_segment}.{payload_segment}".encode("ascii")
        valid = _ALGORITHMS[key.algorithm].verify(signed, key.key, signature)
    except (ValueError, TypeError, jwt.PyJWTError) as e:
        raise InvalidToken("The token is malformed.") from e
    if not valid:
        raise InvalidToken("The token's signature is invalid.")
    claims = _json_object(payload_segment, "payload")
    check_claims(claims, strict_expiry=strict_expiry)
    return VerifiedToken(claims)


def _b64decode(segment: str, part: str) -> bytes:
    """Decode a segment already checked to hold only base64url characters.

    Raises ``InvalidToken`` unless it is canonical (RFC 7515 §2: base64url without padding;
    RFC 4648 §3.5: unused bits zero): a decoder that ignores those bits reads several texts as
    one, and a signature would then have up to 16 spellings that all verify.
    """
    if segment[-1] not in _CANONICAL_LAST[len(segment) % 4]:
        if len(segment) % 4 == 1:
            raise InvalidToken(f"The token's {part} has a length no base64url text can have.")
        raise InvalidToken(f"The token's {part} is not canonical base64url: its last "
                           "character sets bits that encode nothing.")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


class _DuplicateMember(ValueError):
    """A JSON object names a member twice; the message completes "The token's payload"."""


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # RFC 7515 §5.2 and RFC 7519 §4: a JWS or JWT with a member named twice may be refused;
    # taking the last (as json does) would let us read a token another parser reads otherwise.
    members = dict(pairs)
    if len(members) != len(pairs):  # the rare case: find which name, for the description
        name = next(name for name, count in Counter(name for name, _ in pairs).items()
                    if count > 1)
        raise _DuplicateMember(f"has more than one {name[:32]!r} member.")
    return members


# NaN and Infinity, not JSON (RFC 8259 §6) but read by Python's json, are left to the claim
# checks: where a number is read, ``_number`` refuses them and names the claim.
_JSON = json.JSONDecoder(object_pairs_hook=_unique_members)


def _json_object(segment: str, part: str) -> dict[str, Any]:
    """The JSON object a header or payload segment holds. Raises ``InvalidToken``.

    Decoded as UTF-8 here: ``json.loads`` given bytes would also read UTF-16, UTF-32 and a
    leading byte order mark, which RFC 7515 §5.2 and RFC 8259 §8.1 rule out.
    """
    try:
        text = _b64decode(segment, part).decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidToken(f"The token's {part} is not UTF-8.") from e
    if text.startswith("\ufeff"):
        raise InvalidToken(f"The token's {part} starts with a byte order mark.")
    try:
        value = _JSON.decode(text)
    except _DuplicateMember as e:
        raise InvalidToken(f"The token's {part} {e}") from e
    except (ValueError, RecursionError) as e:
        if "\x00" in text:  # UTF-16 or UTF-32 of ASCII text is also UTF-8, with NULs
            raise InvalidToken(f"The token's {part} is not UTF-8 JSON: it holds NUL bytes, "
                               "as UTF-16 or UTF-32 text does.") from e
        raise InvalidToken(f"The token's {part} is malformed: it is not JSON.") from e
    if not isinstance(value, dict):
        raise InvalidToken(f"The token's {part} is malformed: it is not a JSON object.")
    return value


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
