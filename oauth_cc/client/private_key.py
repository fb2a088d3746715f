"""``private_key_jwt`` for the consumer: the client's key, and the assertion it signs with it.

RFC 7523 §2.2 (with RFC 7521 §4.2): instead of a secret, the client sends a short-lived JWT
signed with its private key; the server checks it against the public keys registered for the
client. The algorithm follows from the key, as the server's does: RSA → RS256, EC P-256 →
ES256, Ed25519 → EdDSA.

Unlike the rest of ``oauth_cc.client`` this needs PyJWT and cryptography (runtime
dependencies of the package); ``TokenClient`` imports it only when given a ``private_key``.
The key is held by an ``AssertionSigner`` whose ``repr`` never shows it, and no message here
quotes it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from oauth_cc.client.secret import Secret, clear_frames

#: RFC 7523 §2.2: the ``client_assertion_type`` of a JWT client assertion.
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: How long an assertion is valid, in seconds: one request's worth, so a copy is soon useless.
ASSERTION_LIFETIME = 60
#: The smallest RSA key the server accepts (RFC 7518 §3.3 asks for 2048 bits or more).
MIN_RSA_BITS = 2048

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

_KINDS = "an RSA key (2048 bits or more), an EC P-256 key or an Ed25519 key"
_PUBLIC = ("private_key is a public key: give the private key (its public half is what the "
           "server registers).")
_TYPE = ("private_key must be PEM text or bytes of a private key, or a cryptography private "
         f"key object: {_KINDS}.")


class AssertionSigner:
    """Signs client assertions: the client's private key and the JWS algorithm it signs with;
    ``key_id`` is sent as the ``kid`` header when given. Its ``repr`` shows the algorithm and
    ``kid`` only.

    Make one with ``AssertionSigner.load(private_key, key_id)``.
    """

    __slots__ = ("_key", "algorithm", "key_id")

    def __init__(self, key: PrivateKey, algorithm: str, key_id: str | None) -> None:
        self._key = key
        self.algorithm = algorithm
        self.key_id = key_id

    def __repr__(self) -> str:
        return f"AssertionSigner(algorithm={self.algorithm!r}, key_id={self.key_id!r})"

    __str__ = __repr__

    @classmethod
    def load(cls, private_key: object, key_id: str | None = None) -> AssertionSigner:
        """A signer with ``private_key``: PEM text or bytes (PKCS#8 or the traditional forms,
        unencrypted) or a ``cryptography`` private key object.

        Raises ``ValueError`` for anything else (a public key, an encrypted PEM, an RSA key
        under 2048 bits, an EC curve other than P-256, another key type) or a ``key_id`` that
        is not printable text. The message never quotes the key.
        """
        # Out of this frame's variables before anything can raise (see oauth_cc.client.secret).
        held = Secret(private_key)
        del private_key
        if key_id is not None and not (isinstance(key_id, str) and key_id
                                       and key_id.isprintable() and len(key_id) <= 256):
            raise ValueError("key_id must be printable text of 1 to 256 characters.")
        try:
            key, problem = _read(held.value)
        except BaseException as error:  # unforeseen: _read's frame holds the PEM
            clear_frames(error)
            raise
        if key is None:
            raise ValueError(problem)
        algorithm, problem = _algorithm(key)
        if algorithm is None:
            raise ValueError(problem)
        return cls(key, algorithm, key_id)

    def public_jwk(self) -> dict[str, str]:
        """The public half as a JWK (RFC 7517), with ``alg``, ``use: sig`` and the ``kid``
        when there is one: what the server registers for the client."""
        public = self._key.public_key()
        jwk: dict[str, str]
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
        jwk = {name: value for name, value in jwk.items() if name not in ("key_ops", "alg")}
        jwk.update(use="sig", alg=self.algorithm)
        if self.key_id is not None:
            jwk["kid"] = self.key_id
        return jwk

    def assertion(self, client_id: str, audience: str, *,
                  now: Callable[[], float] = time.time) -> str:
        """A fresh client assertion (RFC 7523 §3): ``iss`` = ``sub`` = ``client_id``, ``aud``
        = ``audience`` (the token endpoint's URL), ``iat`` = now, ``exp`` =
        ``ASSERTION_LIFETIME`` seconds later and a random ``jti`` (the server accepts each
        one once)."""
        issued_at = int(now())
        claims = {"iss": client_id, "sub": client_id, "aud": audience, "iat": issued_at,
                  "exp": issued_at + ASSERTION_LIFETIME, "jti": secrets.token_urlsafe(24)}
        headers = {"kid": self.key_id} if self.key_id is not None else None
        return jwt.encode(claims, self._key, algorithm=self.algorithm, headers=headers)


def public_jwk_set(private_key: object, key_id: str | None = None) -> dict[str, Any]:
    """The JWK Set to register for a ``private_key_jwt`` client: ``{"keys": [<public JWK>]}``
    for ``private_key`` (as ``AssertionSigner.load`` takes it), with ``kid`` = ``key_id`` when
    given. It holds no private member. Raises ``ValueError`` as ``AssertionSigner.load``
    does."""
    return {"keys": [AssertionSigner.load(private_key, key_id).public_jwk()]}


def _read(value: object) -> tuple[PrivateKey | None, str]:
    """The key in ``value``, or None and what is wrong. Returns rather than raises, so that
    the caller's error chains to nothing whose frames or text could hold the PEM."""
    if isinstance(value, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
                  | ed25519.Ed25519PrivateKey):
        return value, ""
    if isinstance(value, rsa.RSAPublicKey | ec.EllipticCurvePublicKey
                  | ed25519.Ed25519PublicKey):
        return None, _PUBLIC
    if isinstance(value, str):
        if not value.isascii():
            return None, "private_key is not PEM text: it has non-ASCII characters."
        value = value.encode()
    if not isinstance(value, bytes):
        return None, _TYPE
    if b"-----BEGIN" not in value:
        return None, "private_key is not PEM: it has no -----BEGIN ... PRIVATE KEY----- line."
    if b"PUBLIC KEY-----" in value or b"CERTIFICATE-----" in value:
        return None, _PUBLIC
    if b"ENCRYPTED" in value:
        return None, ("private_key is an encrypted PEM: load it with cryptography's "
                      "serialization.load_pem_private_key(data, password) and pass the key.")
    try:
        loaded = serialization.load_pem_private_key(value, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # Not chained, and the message is ours: cryptography's could say more than needed.
        return None, ("private_key cannot be read as an unencrypted PEM private key "
                      f"({_KINDS}).")
    if not isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
                      | ed25519.Ed25519PrivateKey):
        return None, f"private_key is a {_kind(loaded)} key; it must be {_KINDS}."
    return loaded, ""


def _algorithm(key: PrivateKey) -> tuple[str | None, str]:
    """The JWS algorithm ``key`` signs with, or None and why it cannot be used."""
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            return None, (f"private_key is a {key.key_size}-bit RSA key; the server accepts "
                          f"{MIN_RSA_BITS} bits or more.")
        return "RS256", ""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            return None, (f"private_key is an EC key on {key.curve.name}; only P-256 "
                          "(secp256r1, for ES256) is accepted.")
        return "ES256", ""
    return "EdDSA", ""


def _kind(key: object) -> str:
    name = type(key).__name__
    return name.removesuffix("PrivateKey") or name
