"""Minting access tokens: the RFC 9068 JWT profile, signed by the active key."""

from __future__ import annotations

import functools
import json
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from oauth_cc import clock, jose
from oauth_cc.keyring import SigningMaterial, key_ring
from oauth_cc.scopes import format_scope
from oauth_cc.settings import oauth_cc_settings

# RFC 9068 §2.1: the media type of JWT access tokens, without its "application/" prefix.
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type, not a password
_ALGORITHMS = jwt.algorithms.get_default_algorithms()


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str
    jti: str
    kid: str
    #: The RFC 7638 thumbprint of the DPoP key the token is bound to (``cnf.jkt``), or None.
    jkt: str | None = None

    def __repr__(self) -> str:
        return f"<IssuedToken jti={self.jti} scope={self.scope!r}>"

    @property
    def token_type(self) -> str:
        """``DPoP`` for a DPoP-bound token (RFC 9449 §5), else ``Bearer``."""
        return "DPoP" if self.jkt else "Bearer"

    def response_body(self) -> dict[str, str | int]:
        """The RFC 6749 §5.1 success response."""
        return {"access_token": self.access_token, "token_type": self.token_type,
                "expires_in": self.expires_in, "scope": self.scope}


def mint_access_token(*, client_id: str, project_id: int | str, scopes: Sequence[str],
                      expires_in: int | None = None,
                      key: SigningMaterial | None = None,
                      jkt: str | None = None) -> IssuedToken:
    """Sign an access token for a client.

    ``expires_in`` defaults to ``DEFAULT_EXPIRES_IN``; the caller validates its range.
    ``key`` defaults to the active signing key. ``jkt``, the thumbprint of a DPoP proof's key
    (checked by the caller), binds the token to that key: ``cnf: {"jkt": ...}`` (RFC 9449
    §6.1).
    """
    if expires_in is None:
        expires_in = oauth_cc_settings.DEFAULT_EXPIRES_IN
    if key is None:
        key = key_ring.signing_key()
    issued_at = math.floor(clock.now())
    jti = secrets.token_urlsafe(16)
    scope = format_scope(scopes)
    claims: dict[str, Any] = {
        "iss": oauth_cc_settings.ISSUER,
        "sub": client_id,
        "aud": oauth_cc_settings.audience,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + expires_in,
        "jti": jti,
        "client_id": client_id,
        "scope": scope,
        "project": str(project_id),
    }
    if jkt:
        claims["cnf"] = {"jkt": jkt}
    return IssuedToken(sign(claims, key), expires_in, scope, jti, key.kid, jkt or None)


def sign(claims: Mapping[str, Any], key: SigningMaterial) -> str:
    """The compact JWS of ``claims`` signed by ``key``, with our access token header.

    Written here rather than by ``jwt.encode``, which re-validates and re-encodes the same
    header for every token: the header of a key is encoded once, and the signature is PyJWT's
    algorithm object's, as ``jwt.encode`` would compute it.
    """
    signing_input = f"{_header_segment(key.kid, key.algorithm)}.{_json_segment(claims)}"
    signature = _ALGORITHMS[key.algorithm].sign(signing_input.encode("ascii"),
                                                key.private_key)
    return f"{signing_input}.{jose.b64encode(signature)}"


# json.dumps() with arguments builds a new encoder per call; this one is made once.
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))


def _json_segment(value: Mapping[str, Any]) -> str:
    return jose.b64encode(_COMPACT_JSON.encode(value).encode("utf-8"))


@functools.lru_cache(maxsize=64)  # a pure function of its arguments: never stale
def _header_segment(kid: str, algorithm: str) -> str:
    return _json_segment({"alg": algorithm, "kid": kid, "typ": ACCESS_TOKEN_TYPE})
