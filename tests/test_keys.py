"""oauth_cc.keys: kid thumbprints, JWKs, encryption of private keys at rest."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.test import override_settings

from oauth_cc import keys
from oauth_cc.exceptions import SigningKeyError
from tests.conftest import real_generate_private_key


def test_rfc7638_example_thumbprint():
    """The worked example of RFC 7638 §3.1."""
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tS"
             "oc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65Y"
             "GjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdk"
             "t-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqD"
             "Kgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert keys.thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize(("algorithm", "kty", "members"), [
    ("RS256", "RSA", {"kty", "n", "e"}),
    ("ES256", "EC", {"kty", "crv", "x", "y"}),
    ("EdDSA", "OKP", {"kty", "crv", "x"}),
])
def test_new_key_material(algorithm, kty, members):
    material = keys.new_key_material(algorithm)
    assert material.algorithm == algorithm
    assert material.public_jwk["kty"] == kty
    assert set(material.public_jwk) == members  # public members only, never "d"
    assert material.kid == keys.thumbprint(material.public_jwk)
    published = keys.published_jwk(material.public_jwk, material.kid, algorithm)
    assert published["use"] == "sig" and published["alg"] == algorithm
    assert published["kid"] == material.kid
    private = keys.load_private_key(material.private_key_ciphertext, material.kid)
    assert keys.public_jwk(private.public_key()) == material.public_jwk
    assert keys.public_jwk(keys.load_public_key(material.public_jwk)) == material.public_jwk


def test_key_types():
    assert isinstance(keys.generate_private_key("RS256"), rsa.RSAPrivateKey)
    assert isinstance(keys.generate_private_key("ES256"), ec.EllipticCurvePrivateKey)
    assert isinstance(keys.generate_private_key("EdDSA"), ed25519.Ed25519PrivateKey)
    with pytest.raises(SigningKeyError):
        keys.generate_private_key("HS256")


def test_rsa_key_size_is_configurable():
    with override_settings(OAUTH_CC={"ISSUER": "https://issuer.test", "KEY_SIZE": 3072}):
        key = real_generate_private_key("RS256")  # the suite pools 2048-bit keys otherwise
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 3072


def test_private_key_is_never_stored_in_plain_text():
    material = keys.new_key_material("RS256")
    stored = material.private_key_ciphertext
    assert stored.startswith(keys.CIPHERTEXT_PREFIX)
    pem = keys.decrypt_private_key(stored, material.kid)
    der_base64 = b"".join(pem.splitlines()[1:-1]).decode("ascii")
    der = base64.b64decode(der_base64)
    sealed = base64.urlsafe_b64decode(stored[len(keys.CIPHERTEXT_PREFIX):] + "==")
    # Neither the PEM text, nor its base64 body, nor the DER bytes survive into what is stored.
    # (Checked against the key itself: a fixed marker such as "MII" turns up in random base64.)
    assert "PRIVATE KEY" not in stored
    assert der_base64[:32] not in stored
    assert der[:32] not in sealed
    assert pem[:32] not in sealed


def test_ciphertext_is_bound_to_its_kid():
    first = keys.new_key_material("ES256")
    second = keys.new_key_material("ES256")
    with pytest.raises(SigningKeyError):
        keys.load_private_key(first.private_key_ciphertext, second.kid)


@pytest.mark.parametrize("mangle", [
    lambda c: c[:-4] + ("AAAA" if not c.endswith("AAAA") else "BBBB"),
    lambda c: c.replace(keys.CIPHERTEXT_PREFIX, "other$"),
    lambda c: keys.CIPHERTEXT_PREFIX + "!!!",
    lambda c: keys.CIPHERTEXT_PREFIX,
])
def test_tampered_ciphertext_is_rejected(mangle):
    material = keys.new_key_material("EdDSA")
    with pytest.raises(SigningKeyError):
        keys.decrypt_private_key(mangle(material.private_key_ciphertext), material.kid)


def test_decrypts_after_secret_key_rotation_with_fallbacks(settings):
    material = keys.new_key_material("ES256")
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    with pytest.raises(SigningKeyError):
        keys.decrypt_private_key(material.private_key_ciphertext, material.kid)
    settings.SECRET_KEY_FALLBACKS = [old]
    assert keys.decrypt_private_key(material.private_key_ciphertext, material.kid)


def test_dedicated_encryption_keys(settings):
    settings.OAUTH_CC = {"ISSUER": "https://issuer.test", "KEY_ENCRYPTION_KEYS": ["k1" * 20]}
    material = keys.new_key_material("ES256")
    settings.SECRET_KEY = "changing-secret-key-does-not-matter-" + "y" * 30
    assert keys.decrypt_private_key(material.private_key_ciphertext, material.kid)
    settings.OAUTH_CC = {"ISSUER": "https://issuer.test",
                         "KEY_ENCRYPTION_KEYS": ["k2" * 20, "k1" * 20]}
    assert keys.decrypt_private_key(material.private_key_ciphertext, material.kid)
    fresh = keys.new_key_material("ES256")
    settings.OAUTH_CC = {"ISSUER": "https://issuer.test", "KEY_ENCRYPTION_KEYS": ["k2" * 20]}
    assert keys.decrypt_private_key(fresh.private_key_ciphertext, fresh.kid)
    with pytest.raises(SigningKeyError):
        keys.decrypt_private_key(material.private_key_ciphertext, material.kid)


def test_invalid_public_jwk():
    with pytest.raises(SigningKeyError):
        keys.load_public_key({"kty": "RSA", "n": "!!", "e": "AQAB"})
    with pytest.raises(SigningKeyError):
        keys.load_public_key({"kty": "oct", "k": "AAAA"})


# One signature check for every JWS this server reads (access tokens, client assertions, DPoP
# proofs): the key decides which algorithm verifies, never the token.

_MESSAGE = b"header.payload"


def _signed(algorithm: str) -> tuple[keys.PublicKey, bytes]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    if algorithm == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
        r, s = decode_dss_signature(key.sign(_MESSAGE, ec.ECDSA(hashes.SHA256())))
        return key.public_key(), r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if algorithm in ("RS256", "PS256"):
        rsa_key = real_generate_private_key("RS256")
        assert isinstance(rsa_key, rsa.RSAPrivateKey)
        scheme = padding.PKCS1v15() if algorithm == "RS256" else padding.PSS(
            mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        return rsa_key.public_key(), rsa_key.sign(_MESSAGE, scheme, hashes.SHA256())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    return ed_key.public_key(), ed_key.sign(_MESSAGE)


@pytest.mark.parametrize("algorithm", ["ES256", "RS256", "PS256", "EdDSA", "Ed25519"])
def test_the_signature_verifier_verifies_its_algorithm_only(algorithm):
    from cryptography.exceptions import InvalidSignature

    public, signature = _signed(algorithm)
    verify = keys.signature_verifier(algorithm, public)
    verify(signature, _MESSAGE)
    with pytest.raises((InvalidSignature, ValueError)):
        verify(signature, _MESSAGE + b"x")
    with pytest.raises((InvalidSignature, ValueError)):
        verify(signature[:-1] + bytes([signature[-1] ^ 1]), _MESSAGE)
    assert keys.VerificationKey("k", algorithm, public).verify(signature, _MESSAGE) is None


@pytest.mark.parametrize(("algorithm", "key"), [
    ("RS256", ec.generate_private_key(ec.SECP256R1()).public_key()),
    ("ES256", ec.generate_private_key(ec.SECP384R1()).public_key()),  # ES256 is P-256 only
    ("ES256", ed25519.Ed25519PrivateKey.generate().public_key()),
    ("EdDSA", ec.generate_private_key(ec.SECP256R1()).public_key()),
    ("HS256", ed25519.Ed25519PrivateKey.generate().public_key()),
    ("none", ec.generate_private_key(ec.SECP256R1()).public_key()),
])
def test_a_key_verifies_no_algorithm_it_does_not_fit(algorithm, key):
    with pytest.raises(ValueError, match=f"cannot verify {algorithm}"):
        keys.signature_verifier(algorithm, key)
    with pytest.raises(ValueError):
        keys.VerificationKey("k", algorithm, key).verify  # noqa: B018 - made on first use
