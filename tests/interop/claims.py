"""What every access token issued to an interop client must be (CONTRACT.md, "The access token").

Shared by the interop tests so that each client's token is held to the same, complete check.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import jwt

from oauth_cc.models import Client, SigningKey

ACCESS_TOKEN_CLAIMS = frozenset(
    {"iss", "sub", "client_id", "aud", "iat", "nbf", "exp", "jti", "scope", "project"})


def check_header(header: Mapping[str, Any]) -> None:
    """The RFC 9068 §2.1 header: our algorithm, ``typ: at+jwt``, and the active key's ``kid``."""
    assert header["alg"] == "RS256"
    assert header["typ"] == "at+jwt"
    assert header["kid"] == SigningKey.objects.active().kid


def check_claims(claims: Mapping[str, Any], *, issuer: str, audience: str, client: Client,
                 scope: str, expires_in: int = 900, issued_after: float | None = None) -> None:
    """Every claim the contract names, with the value it must have.

    ``issued_after`` is a wall-clock time taken before the request: ``iat`` lies between it
    and now (the live server uses the real clock).
    """
    assert claims.keys() >= ACCESS_TOKEN_CLAIMS, sorted(ACCESS_TOKEN_CLAIMS - claims.keys())
    assert claims["iss"] == issuer
    assert claims["sub"] == client.client_id
    assert claims["client_id"] == client.client_id
    assert claims["aud"] == audience
    for name in ("iat", "nbf", "exp"):
        assert type(claims[name]) is int, (name, claims[name])
    if issued_after is not None:
        assert int(issued_after) <= claims["iat"] <= time.time()
    assert claims["nbf"] == claims["iat"]
    assert claims["exp"] == claims["iat"] + expires_in
    assert isinstance(claims["jti"], str)
    assert len(claims["jti"]) >= 16
    assert claims["scope"] == scope
    assert claims["project"] == str(client.project_id)


def check_access_token(token: str, *, issuer: str, audience: str, client: Client, scope: str,
                       expires_in: int = 900, issued_after: float | None = None
                       ) -> dict[str, Any]:
    """Check a token's header and claims (its signature is the verifying client's job).

    Returns the claims.
    """
    check_header(jwt.get_unverified_header(token))
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    check_claims(claims, issuer=issuer, audience=audience, client=client, scope=scope,
                 expires_in=expires_in, issued_after=issued_after)
    return claims
