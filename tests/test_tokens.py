"""Minting access tokens (oauth_cc/tokens.py): ``sign`` and the RFC 9068 claims."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import jwt
import pytest
from django.test import override_settings

from oauth_cc import clock, jose, keys, tokens
from oauth_cc.keyring import SigningMaterial, key_ring
from oauth_cc.models import SigningKey
from tests.conftest import T0

ISSUER = "https://issuer.test"
pytestmark = pytest.mark.usefixtures("oauth_cc_defaults")
ALGORITHMS = ["RS256", "ES256", "EdDSA"]
# The raw signature's length (RFC 7518 §3.3, §3.4; RFC 8037 §3.1), for 2048-bit RSA.
SIGNATURE_LENGTH = {"RS256": 256, "ES256": 64, "EdDSA": 64}


def material(algorithm: str, kid: str = "kid-1") -> SigningMaterial:
    return SigningMaterial(kid, algorithm, keys.generate_private_key(algorithm))


def claims(**extra: Any) -> dict[str, Any]:
    now = int(T0)
    return {"iss": ISSUER, "sub": "c1", "aud": ISSUER, "iat": now, "nbf": now,
            "exp": now + 60, "jti": "j1", "client_id": "c1", "scope": "address", **extra}


def decode(token: str, key: SigningMaterial) -> dict[str, Any]:
    """The verified claims; the times are not checked (PyJWT reads the real clock, and the
    tests' tokens are from oauth_cc's frozen one)."""
    return jwt.decode(token, key.private_key.public_key(), algorithms=[key.algorithm],
                      audience=ISSUER, issuer=ISSUER,
                      options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})


# sign


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_sign_makes_a_token_pyjwt_verifies(algorithm):
    key = material(algorithm)
    token = tokens.sign(claims(name="Zoë"), key)
    assert decode(token, key) == claims(name="Zoë")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_the_header_is_exactly_alg_kid_and_typ(algorithm):
    key = material(algorithm, kid=f"kid-{algorithm}")
    token = tokens.sign(claims(), key)
    assert jwt.get_unverified_header(token) == {"alg": algorithm, "kid": f"kid-{algorithm}",
                                                "typ": "at+jwt"}


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_the_token_is_strict_compact_jws(algorithm):
    """Three canonical base64url segments of UTF-8 JSON objects: what our verifier reads."""
    key = material(algorithm)
    token = tokens.sign(claims(), key)
    header, payload, signature = jose.split(token, 8192)
    assert jose.json_object(header, "header") == {"alg": algorithm, "kid": "kid-1",
                                                  "typ": "at+jwt"}
    assert jose.json_object(payload, "payload") == claims()
    assert len(jose.b64decode(signature, "signature")) == SIGNATURE_LENGTH[algorithm]
    assert "=" not in token


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_changed_payload_does_not_verify(algorithm):
    key = material(algorithm)
    header, _, signature = tokens.sign(claims(), key).split(".")
    forged = tokens.sign(claims(scope="address phone"), key).split(".")[1]
    with pytest.raises(jwt.InvalidSignatureError):
        decode(f"{header}.{forged}.{signature}", key)


def test_a_token_does_not_verify_with_another_key():
    signer, other = material("ES256"), material("ES256")
    with pytest.raises(jwt.InvalidSignatureError):
        decode(tokens.sign(claims(), signer), other)


@pytest.mark.parametrize("algorithm", ["RS256", "EdDSA"])  # deterministic signatures
def test_sign_writes_what_jwt_encode_writes(algorithm):
    key = material(algorithm)
    expected = jwt.encode(claims(), key.private_key, algorithm=algorithm,
                          headers={"kid": key.kid, "typ": "at+jwt"})
    assert tokens.sign(claims(), key) == expected


def test_each_key_gets_its_own_header():
    """The header of a key is computed once: another kid or algorithm is not served it."""
    first, second = material("RS256", kid="a"), material("ES256", kid="b")
    third = SigningMaterial("a", "EdDSA", keys.generate_private_key("EdDSA"))
    for key in (first, second, third, first):
        token = tokens.sign(claims(), key)
        assert jwt.get_unverified_header(token) == {"alg": key.algorithm, "kid": key.kid,
                                                    "typ": "at+jwt"}
        assert decode(token, key) == claims()


def test_a_kid_with_characters_json_escapes():
    key = material("EdDSA", kid='k"\\/é')
    token = tokens.sign(claims(), key)
    assert jwt.get_unverified_header(token)["kid"] == 'k"\\/é'
    assert token.isascii()


# mint_access_token


@pytest.fixture
def rs256() -> SigningMaterial:
    return material("RS256")


def test_mint_access_token_claims(rs256):
    with clock.frozen(T0 + 0.75):  # a fraction of a second: iat is the whole second before
        issued = tokens.mint_access_token(client_id="c1", project_id=7,
                                          scopes=["address", "phone"], expires_in=300,
                                          key=rs256)
        payload = decode(issued.access_token, rs256)
    iat = math.floor(T0)
    assert payload == {"iss": ISSUER, "sub": "c1", "aud": ISSUER, "iat": iat, "nbf": iat,
                       "exp": iat + 300, "jti": issued.jti, "client_id": "c1",
                       "scope": "address phone", "project": "7"}
    assert issued.expires_in == 300
    assert issued.scope == "address phone"
    assert issued.kid == rs256.kid
    assert jwt.get_unverified_header(issued.access_token) == {"alg": "RS256", "kid": rs256.kid,
                                                              "typ": "at+jwt"}


def test_the_project_is_always_a_string(rs256, frozen_clock):
    for project in (7, "7"):
        issued = tokens.mint_access_token(client_id="c", project_id=project, scopes=[],
                                          key=rs256)
        assert decode(issued.access_token, rs256)["project"] == "7"


def test_each_token_has_its_own_jti(rs256, frozen_clock):
    minted = [tokens.mint_access_token(client_id="c", project_id=1, scopes=["address"],
                                       key=rs256) for _ in range(20)]
    jtis = {issued.jti for issued in minted}
    assert len(jtis) == 20
    assert len({issued.access_token for issued in minted}) == 20
    for issued in minted:
        assert len(issued.jti) >= 22  # 128 random bits
        assert decode(issued.access_token, rs256)["jti"] == issued.jti


def test_the_lifetime_defaults_to_the_setting(rs256, frozen_clock):
    issued = tokens.mint_access_token(client_id="c", project_id=1, scopes=[], key=rs256)
    assert issued.expires_in == 900
    assert decode(issued.access_token, rs256)["exp"] == int(T0) + 900
    with override_settings(OAUTH_CC={"ISSUER": ISSUER, "DEFAULT_EXPIRES_IN": 120}):
        issued = tokens.mint_access_token(client_id="c", project_id=1, scopes=[], key=rs256)
    assert issued.expires_in == 120
    assert decode(issued.access_token, rs256)["exp"] == int(T0) + 120


def test_issuer_and_audience_follow_the_settings(rs256, frozen_clock):
    with override_settings(OAUTH_CC={"ISSUER": "https://other.test/tenant",
                                     "AUDIENCE": "https://api.other.test"}):
        issued = tokens.mint_access_token(client_id="c", project_id=1, scopes=[], key=rs256)
    payload = jwt.decode(issued.access_token, options={"verify_signature": False})
    assert payload["iss"] == "https://other.test/tenant"
    assert payload["aud"] == "https://api.other.test"


@pytest.mark.django_db
def test_without_a_key_the_active_key_signs(frozen_clock):
    issued = tokens.mint_access_token(client_id="c", project_id=1, scopes=["address"])
    active = SigningKey.objects.active()
    assert issued.kid == active.kid
    assert jwt.get_unverified_header(issued.access_token)["kid"] == active.kid
    published = key_ring.verification_key(active.kid)
    assert published is not None
    payload = jwt.decode(issued.access_token, published.key, algorithms=[published.algorithm],
                         audience=ISSUER, options={"verify_exp": False, "verify_iat": False,
                                                   "verify_nbf": False})
    assert payload["scope"] == "address"


def test_the_response_body_and_repr(rs256, frozen_clock):
    issued = tokens.mint_access_token(client_id="c", project_id=1, scopes=["address"],
                                      expires_in=60, key=rs256)
    assert issued.response_body() == {"access_token": issued.access_token,
                                      "token_type": "Bearer", "expires_in": 60,
                                      "scope": "address"}
    assert issued.access_token not in repr(issued)
    assert issued.jti in repr(issued)


def test_claims_are_compact_json():
    key = material("EdDSA")
    payload = tokens.sign({"a": 1, "b": [1, 2]}, key).split(".")[1]
    assert base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)) == \
        json.dumps({"a": 1, "b": [1, 2]}, separators=(",", ":")).encode()
