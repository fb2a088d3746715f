"""DPoP for the consumer (RFC 9449): the key a client's tokens are bound to, and its proofs.

``TokenClient(..., dpop=True)`` makes one ``ProofKey`` and keeps it, in memory only, for its
life: the token endpoint binds each token to the key's thumbprint (``cnf.jkt``), so a token is
only of use with proofs signed by this key. Every request carries a fresh proof: a JWT with
``typ`` ``dpop+jwt``, ``alg`` ES256 (a P-256 key: small, fast, and accepted by every DPoP
server), the public key as its ``jwk`` header, and claims ``htm`` (the request's method),
``htu`` (its URL without query and fragment), ``iat``, a random ``jti`` and, with an access
token, ``ath`` (RFC 9449 §4.2).

Like ``private_key``, this needs PyJWT and cryptography; ``TokenClient`` imports it only when
asked for DPoP. Nothing here shows the private key: not the ``repr``, not a message.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

#: The ``Authorization`` scheme and ``token_type`` of a DPoP-bound token (RFC 9449 §5, §7.1).
TOKEN_TYPE = "DPoP"  # noqa: S105 - a token type, not a password
ALGORITHM = "ES256"
PROOF_TYPE = "dpop+jwt"
#: The request header that carries a proof, and the one a server sends a nonce in (§8).
HEADER = "DPoP"
NONCE_HEADER = "DPoP-Nonce"


class ProofKey:
    """A P-256 key pair made for one ``TokenClient``, and the proofs it signs.

    ``jkt`` is the public key's RFC 7638 SHA-256 thumbprint: what the server binds tokens to.
    The ``repr`` shows the algorithm and ``jkt``, both public.
    """

    __slots__ = ("_header", "_jwk", "_key", "jkt")

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        numbers = self._key.public_key().public_numbers()
        jwk = {"kty": "EC", "crv": "P-256", "x": _b64(numbers.x.to_bytes(32, "big")),
               "y": _b64(numbers.y.to_bytes(32, "big"))}
        # RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace.
        canonical = json.dumps(jwk, sort_keys=True, separators=(",", ":")).encode()
        self.jkt = _b64(hashlib.sha256(canonical).digest())
        self._jwk = jwk
        self._header = {"typ": PROOF_TYPE, "jwk": jwk}

    def __repr__(self) -> str:
        return f"ProofKey(algorithm={ALGORITHM!r}, jkt={self.jkt!r})"

    __str__ = __repr__

    @property
    def public_jwk(self) -> dict[str, str]:
        """The public key as the proofs' ``jwk`` header carries it (no private member)."""
        return dict(self._jwk)

    def proof(self, method: str, url: str, access_token: str | None = None, *,
              nonce: str | None = None, now: Callable[[], float] = time.time) -> str:
        """A new proof (RFC 9449 §4.2) for a ``method`` request to ``url``: ``htu`` is ``url``
        without its query and fragment, ``jti`` random, ``iat`` now. With ``access_token``,
        ``ath`` is its hash (a resource request); with ``nonce``, the server's ``nonce``."""
        claims: dict[str, str | int] = {"htm": method, "htu": target_uri(url),
                                        "iat": int(now()), "jti": secrets.token_urlsafe(24)}
        if access_token is not None:
            claims["ath"] = access_token_hash(access_token)
        if nonce is not None:
            claims["nonce"] = nonce
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers=self._header)


def target_uri(url: str) -> str:
    """``url`` without query and fragment: a proof's ``htu`` (RFC 9449 §4.2)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def access_token_hash(access_token: str) -> str:
    """``ath``: base64url of the SHA-256 of the token's ASCII text (RFC 9449 §4.2)."""
    return _b64(hashlib.sha256(access_token.encode("ascii")).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
