"""Signing key material: generation, JWK and ``kid`` (RFC 7638), encryption at rest.

Pure cryptography: no ORM, no HTTP. Private keys are stored as PKCS#8 PEM encrypted with
AES-256-GCM under a key derived (HKDF-SHA256) from ``OAUTH_CC["KEY_ENCRYPTION_KEYS"]`` or, by
default, from ``SECRET_KEY``; every older key (and ``SECRET_KEY_FALLBACKS``) still decrypts. The
key's ``kid`` is bound to its ciphertext as associated data, so a ciphertext cannot be moved to
another row.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from jwt.exceptions import InvalidKeyError

from oauth_cc import jose
from oauth_cc.exceptions import SigningKeyError
from oauth_cc.settings import oauth_cc_settings

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

SUPPORTED_ALGORITHMS = ("RS256", "ES256", "EdDSA")
MIN_RSA_KEY_SIZE = 2048
CIPHERTEXT_PREFIX = "aes256gcm-v1$"
# Members of a private or symmetric JWK (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2): never
# displayed, and a key that has one is never used to verify.
PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

# RFC 7638 §3.2: the members that make up the thumbprint of each key type.
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"),
                       "OKP": ("crv", "kty", "x")}


@dataclass(frozen=True)
class KeyMaterial:
    """A freshly generated key, ready to be stored: nothing here is secret but in ciphertext."""

    kid: str
    algorithm: str
    public_jwk: dict[str, str]
    private_key_ciphertext: str


@dataclass(frozen=True)
class VerificationKey:
    """A public key that verifies tokens, and the one algorithm it verifies them with."""

    kid: str
    algorithm: str
    key: PublicKey

    @cached_property
    def verify(self) -> SignatureVerifier:
        """``signature_verifier(algorithm, key)``, made on first use. Raises ``ValueError``
        if the key does not fit the algorithm."""
        return signature_verifier(self.algorithm, self.key)


# Verifying a JWS signature: access tokens (ours, or a remote issuer's), client assertions and
# DPoP proofs all go through signature_verifier(). RFC 7518 §3.3-3.5 and RFC 8037 §3.1, with
# the padding and hash objects made once: PyJWT's algorithm objects rebuild them (and convert
# the ECDSA signature in Python) on each call.
_SHA256 = hashes.SHA256()
_ECDSA_SHA256 = ec.ECDSA(_SHA256)
_PKCS1 = padding.PKCS1v15()
_PSS = padding.PSS(mgf=padding.MGF1(_SHA256), salt_length=_SHA256.digest_size)
#: ``verify(signature, signing_input)``, raising ``InvalidSignature``, ``ValueError`` or
#: ``TypeError`` when the signature does not verify.
SignatureVerifier = Callable[[bytes, bytes], None]


def signature_verifier(alg: str, key: Any) -> SignatureVerifier:
    """``verify(signature, signing_input)`` for the JWS ``alg`` with ``key``: ES256 with a
    P-256 key, RS256 or PS256 with an RSA key, EdDSA (or its RFC 9864 name Ed25519) with an
    Ed25519 key. Raises ``ValueError`` for any other algorithm, or a key that does not fit
    it: the key decides, never the token."""
    if alg == "ES256" and isinstance(key, ec.EllipticCurvePublicKey) \
            and isinstance(key.curve, ec.SECP256R1):
        def verify_es256(signature: bytes, message: bytes) -> None:
            if len(signature) != 64:  # r and s, 32 bytes each (RFC 7518 §3.4)
                raise InvalidSignature
            key.verify(encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                            int.from_bytes(signature[32:], "big")),
                       message, _ECDSA_SHA256)

        return verify_es256
    if alg in ("RS256", "PS256") and isinstance(key, rsa.RSAPublicKey):
        scheme = _PKCS1 if alg == "RS256" else _PSS
        return lambda signature, message: key.verify(signature, message, scheme, _SHA256)
    if alg in ("EdDSA", "Ed25519") and isinstance(key, ed25519.Ed25519PublicKey):
        return key.verify
    raise ValueError(f"A {type(key).__name__} cannot verify {alg} signatures.")


def generate_private_key(algorithm: str, key_size: int | None = None) -> PrivateKey:
    """A new private key for ``algorithm`` ("RS256", "ES256" or "EdDSA")."""
    if algorithm == "RS256":
        return rsa.generate_private_key(
            public_exponent=65537, key_size=key_size or oauth_cc_settings.KEY_SIZE
        )
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise SigningKeyError(f"Unsupported signing algorithm {algorithm!r}.")


def public_jwk(public_key: PublicKey) -> dict[str, str]:
    """The public JWK members of ``public_key`` (no ``kid``, ``use`` or ``alg``)."""
    jwk: dict[str, Any]
    if isinstance(public_key, rsa.RSAPublicKey):
        jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        jwk = ECAlgorithm.to_jwk(public_key, as_dict=True)
    elif isinstance(public_key, ed25519.Ed25519PublicKey):
        jwk = OKPAlgorithm.to_jwk(public_key, as_dict=True)
    else:  # pragma: no cover - the types above are all we generate
        raise SigningKeyError("Unsupported public key type.")
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    return {name: str(jwk[name]) for name in members}


def thumbprint(jwk: dict[str, str]) -> str:
    """The RFC 7638 SHA-256 thumbprint of ``jwk``, base64url without padding."""
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return jose.b64encode(hashlib.sha256(canonical.encode()).digest())


def published_jwk(public: dict[str, str], kid: str, algorithm: str) -> dict[str, str]:
    """The JWK Set entry for a key: its public members plus ``kid``, ``use`` and ``alg``."""
    return {**public, "use": "sig", "alg": algorithm, "kid": kid}


def new_key_material(algorithm: str, key_size: int | None = None) -> KeyMaterial:
    """Generate a key for ``algorithm`` and return what to store of it."""
    private_key = generate_private_key(algorithm, key_size)
    public = public_jwk(private_key.public_key())
    kid = thumbprint(public)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return KeyMaterial(kid, algorithm, public, encrypt_private_key(pem, kid))


def load_private_key(ciphertext: str, kid: str) -> PrivateKey:
    """Decrypt and load a stored private key. Raises ``SigningKeyError`` if it cannot."""
    pem = decrypt_private_key(ciphertext, kid)
    # AES-GCM has authenticated this PEM as one we generated, so RSA key validation (most of
    # the ~35 ms a load costs) has nothing left to find.
    key = serialization.load_pem_private_key(pem, password=None,
                                             unsafe_skip_rsa_key_validation=True)
    if not isinstance(key, PrivateKey):
        raise SigningKeyError(f"Key {kid} is of an unsupported type.")
    return key


def load_public_key(jwk: dict[str, str]) -> PublicKey:
    """The public key object for a stored public JWK."""
    loaders: dict[str, Callable[[dict[str, str]], Any]] = {
        "RSA": RSAAlgorithm.from_jwk, "EC": ECAlgorithm.from_jwk, "OKP": OKPAlgorithm.from_jwk}
    try:
        key = loaders[jwk["kty"]](jwk)
    except (KeyError, ValueError, TypeError, InvalidKeyError) as e:
        raise SigningKeyError("The public key is not a valid JWK.") from e
    if not isinstance(key, PublicKey):
        raise SigningKeyError("The JWK is not a public key.")
    return key


# Encryption at rest


@lru_cache(maxsize=8)
def _derive_encryption_keys(material: tuple[str, ...]) -> tuple[AESGCM, ...]:
    def derive(secret: str) -> AESGCM:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                    info=b"oauth_cc.keys.private-key-encryption.v1")
        return AESGCM(hkdf.derive(secret.encode()))

    return tuple(derive(m) for m in material)


def _encryption_keys() -> tuple[AESGCM, ...]:
    """The AEAD keys, the one that encrypts first; derived once per distinct configuration."""
    configured = oauth_cc_settings.KEY_ENCRYPTION_KEYS
    if isinstance(configured, str):
        configured = [configured]
    if configured:
        material = tuple(configured)
    else:
        material = (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ()))
    return _derive_encryption_keys(material)


def encrypt_private_key(pem: bytes, kid: str) -> str:
    """Encrypt ``pem`` under the current key, bound to ``kid``."""
    nonce = os.urandom(12)
    sealed = _encryption_keys()[0].encrypt(nonce, pem, kid.encode())
    return CIPHERTEXT_PREFIX + jose.b64encode(nonce + sealed)


def decrypt_private_key(ciphertext: str, kid: str) -> bytes:
    """Decrypt a stored private key with the current or any older key."""
    if not ciphertext.startswith(CIPHERTEXT_PREFIX):
        raise SigningKeyError(f"The private key of {kid} is not in a known format.")
    try:
        raw = base64.urlsafe_b64decode(_pad(ciphertext[len(CIPHERTEXT_PREFIX):]))
    except ValueError as e:
        raise SigningKeyError(f"The private key of {kid} is corrupt.") from e
    if len(raw) < 12 + 16:  # a nonce and a GCM tag at least
        raise SigningKeyError(f"The private key of {kid} is corrupt.")
    nonce, sealed = raw[:12], raw[12:]
    for aead in _encryption_keys():
        try:
            return aead.decrypt(nonce, sealed, kid.encode())
        except InvalidTag:
            continue
    raise SigningKeyError(
        f"The private key of {kid} does not decrypt with KEY_ENCRYPTION_KEYS or SECRET_KEY "
        "(or their fallbacks)."
    )


def _pad(text: str) -> str:
    return text + "=" * (-len(text) % 4)
