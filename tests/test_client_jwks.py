"""What a private_key_jwt client may register (client_jwks.py): JWK Sets and jwks_uris; and
which keys of a fetched set it may use (client_keys.py)."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.core.exceptions import ValidationError

from oauth_cc import client_jwks, keys
from oauth_cc.client_jwks import MAX_KEYS, key_ids, validate_jwk_set, validate_jwks_uri
from oauth_cc.client_keys import inline_keys, usable_keys
from oauth_cc.jwks_fetch import PublicJWK
from tests.test_client_assertion import private_key, public_jwk


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rsa_jwk(bits: int = 2048, e: int = 65537, kid: str | None = "r") -> dict[str, Any]:
    """An RSA public JWK of ``bits`` bits; only 2048 comes from the pool, others are made."""
    key = private_key("RSA") if bits == 2048 and e == 65537 else \
        rsa.generate_private_key(public_exponent=e, key_size=bits)
    return public_jwk(key, kid)


def invalid(document: Any) -> str:
    with pytest.raises(ValidationError) as raised:
        validate_jwk_set(document)
    return " ".join(raised.value.messages)


# Valid sets


def test_a_set_of_each_key_type_is_valid_and_normalised():
    rsa_key, ec_key, ed_key = rsa_jwk(kid="r"), public_jwk(private_key("EC"), "e"), \
        public_jwk(private_key("OKP"), "o")
    document = {"keys": [
        {**rsa_key, "use": "sig", "alg": "PS256", "x5c": ["MIIB..."], "ext": True},
        {**ec_key, "alg": "ES256", "key_ops": ["verify"]},
        {**ed_key, "alg": "Ed25519"},
    ], "extra": "dropped"}
    normalised = validate_jwk_set(document)
    assert normalised == {"keys": [
        {**rsa_key, "use": "sig", "alg": "PS256"},
        {**ec_key, "alg": "ES256", "key_ops": ["verify"]},
        {**ed_key, "alg": "Ed25519"},
    ]}
    assert validate_jwk_set(json.dumps(document)) == normalised  # JSON text too
    assert key_ids(document) == ["r", "e", "o"]


def test_key_ids_of_keys_without_kid_are_their_thumbprints():
    jwk = rsa_jwk(kid=None)
    assert key_ids({"keys": [jwk]}) == [keys.thumbprint(jwk)]


@pytest.mark.parametrize("alg", ["EdDSA", "Ed25519"])
def test_an_ed25519_key_verifies_both_names_of_its_algorithm(alg):
    document = {"keys": [public_jwk(private_key("OKP"), alg=alg)]}
    (key,) = inline_keys(json.dumps(document))
    assert key.algorithms == {"EdDSA", "Ed25519"}


def test_the_alg_of_an_rsa_jwk_narrows_what_it_verifies():
    (free,) = client_jwks.parse_jwk_set({"keys": [rsa_jwk()]})[1]
    (pinned,) = client_jwks.parse_jwk_set({"keys": [rsa_jwk(kid="p") | {"alg": "PS256"}]})[1]
    assert free.algorithms == {"RS256", "PS256"}
    assert pinned.algorithms == {"PS256"}


def test_ten_keys_are_allowed():
    document = {"keys": [public_jwk(private_key("EC"), f"k{i}") for i in range(MAX_KEYS)]}
    assert len(validate_jwk_set(document)["keys"]) == MAX_KEYS


# Invalid sets, each with a message that says why


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "oth", "k"])
def test_a_private_member_is_refused(member):
    assert "private" in invalid({"keys": [rsa_jwk() | {member: "AQAB"}]})


def test_a_whole_private_jwk_is_refused():
    from jwt.algorithms import RSAAlgorithm

    private = RSAAlgorithm.to_jwk(private_key("RSA"), as_dict=True)
    message = invalid({"keys": [private]})
    assert "private" in message
    assert private["d"] not in message


def test_a_1024_bit_rsa_key_is_refused():
    assert "1024-bit RSA key; at least 2048" in invalid({"keys": [rsa_jwk(1024)]})


def test_an_rsa_key_larger_than_8192_bits_is_refused():
    n = (1 << 8199) | 1
    assert "larger than 8192" in invalid({"keys": [{"kty": "RSA", "n": b64(
        n.to_bytes(1026, "big")), "e": "AQAB"}]})


@pytest.mark.parametrize("e", [1, 2, 4, 65536, 2**40 + 1])
def test_an_rsa_key_with_an_odd_exponent_is_refused(e):
    jwk = rsa_jwk() | {"e": b64(e.to_bytes((e.bit_length() + 7) // 8, "big"))}
    assert "RSA" in invalid({"keys": [jwk]})


def test_a_p384_key_is_refused():
    jwk = public_jwk(ec.generate_private_key(ec.SECP384R1()))
    assert "P-384" in invalid({"keys": [jwk]})


def test_an_ec_point_not_on_the_curve_is_refused():
    jwk = public_jwk(private_key("EC"))
    jwk["y"] = b64(bytes(31) + b"\x01")
    assert "not a point on P-256" in invalid({"keys": [jwk]})


@pytest.mark.parametrize("curve", ["Ed448", "X25519", ["Ed25519"], None])
def test_okp_keys_other_than_ed25519_are_refused(curve):
    jwk = public_jwk(private_key("OKP")) | {"crv": curve}
    assert "only Ed25519" in invalid({"keys": [jwk]})


def test_an_oct_key_is_refused():
    assert "symmetric" in invalid({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})
    assert "symmetric" in invalid({"keys": [{"kty": "oct"}]})


@pytest.mark.parametrize("kty", ["DSA", None, 5, ["RSA"]])
def test_other_key_types_are_refused(kty):
    assert "key type" in invalid({"keys": [{"kty": kty, "n": "AQAB", "e": "AQAB"}]})


def test_eleven_keys_are_refused():
    document = {"keys": [public_jwk(private_key("EC"), f"k{i}") for i in range(MAX_KEYS + 1)]}
    assert "11 keys; at most 10" in invalid(document)


def test_duplicate_kids_are_refused():
    document = {"keys": [public_jwk(private_key("EC"), "same"), rsa_jwk(kid="same")]}
    assert "'same' names more than one key" in invalid(document)


@pytest.mark.parametrize(("jwk_change", "text"), [
    ({"use": "enc"}, "use 'enc'"),
    ({"alg": "ES256"}, "does not fit"),
    ({"alg": "HS256"}, "does not fit"),
    ({"alg": "none"}, "does not fit"),
    ({"alg": "RS512"}, "does not fit"),
    ({"alg": ["RS256"]}, "does not fit"),
    ({"alg": {"RS256": 1}}, "does not fit"),
    ({"use": ["sig"]}, "use"),
    ({"key_ops": ["encrypt"]}, "key_ops"),
    ({"key_ops": [["verify"]]}, "key_ops"),
    ({"key_ops": "verify"}, "key_ops"),
    ({"kid": ""}, "kid"),
    ({"kid": 7}, "kid"),
    ({"kid": ["k"]}, "kid"),
    ({"kid": "k" * 201}, "kid"),
    ({"n": "AQAB="}, "base64url"),
    ({"n": 12345}, "base64url"),
    ({"e": "AR"}, "canonical"),  # "AR" sets bits that encode nothing; "AQ" is canonical
])
def test_rsa_jwk_members_are_checked(jwk_change, text):
    assert text in invalid({"keys": [rsa_jwk() | jwk_change]})


def test_ec_coordinates_must_be_32_bytes():
    jwk = public_jwk(private_key("EC"))
    assert "32 bytes" in invalid({"keys": [jwk | {"x": b64(b"\x01" * 31)}]})
    assert "P-256" in invalid({"keys": [jwk | {"crv": ["P-256"]}]})


@pytest.mark.parametrize(("document", "text"), [
    ("not json", "not valid JSON"),
    ('{"keys": [], "keys": []}', "names a member twice"),
    ("[]", "JSON object"),
    ("null", "JSON object"),
    (42, "JSON object"),
    ({"keys": {}}, '"keys" list'),
    ({}, '"keys" list'),
    ({"keys": []}, "no keys"),
    ({"keys": ["x"]}, "Key 1 is not a JSON object"),
    ({"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}, None]}, "Key 1"),
    ({"keys": [{"kty": "RSA", "e": "AQAB"}]}, "'n'"),
    ({"keys": [object()]}, "not JSON"),
    ("x" * 70_000, "larger than"),
    ({"keys": ["x" * 70_000]}, "larger than"),
])
def test_what_is_not_a_jwk_set(document, text):
    assert text in invalid(document)


def test_a_lone_surrogate_is_refused_as_text_and_as_an_object():
    # It would pass every check, then fail to be stored (a 500), as a kid or anywhere else.
    jwk = rsa_jwk(kid="\ud800")
    assert "not Unicode" in invalid({"keys": [jwk]})
    assert "not Unicode" in invalid(json.dumps({"keys": [jwk]}))  # escaped: "\\ud800"


def test_a_single_jwk_is_told_to_be_wrapped():
    assert "single JWK" in invalid(rsa_jwk())


def test_key_ids_validate_too():
    with pytest.raises(ValidationError):
        key_ids({"keys": [{"kty": "oct", "k": "x"}]})


# jwks_uri


@pytest.mark.parametrize("url", [
    "https://client.example/.well-known/jwks.json",
    "https://client.example:8443/keys?tenant=a",
    "http://127.0.0.1:8000/jwks.json",
    "http://localhost/jwks.json",
    "http://[::1]:9000/jwks",
    "HTTPS://CLIENT.EXAMPLE/jwks",
])
def test_good_jwks_uris(url):
    assert validate_jwks_uri(url) == url


@pytest.mark.parametrize(("url", "text"), [
    ("", "non-empty"),
    (None, "non-empty"),
    ("http://client.example/jwks.json", "https"),
    ("http://10.0.0.1/jwks.json", "https"),
    ("ftp://client.example/jwks.json", "https"),
    ("/jwks.json", "absolute"),
    ("client.example/jwks.json", "absolute"),
    ("https://user:pw@client.example/jwks", "credentials"),
    ("https://client.example/jwks#keys", "fragment"),
    ("https://client.example/jw ks", "spaces"),
    ("https://client.example/\njwks", "control"),
    ("https://client.example:99999/jwks", "not a valid URL"),
    ("https://[::1/jwks", "not a valid URL"),
    ("https://client.example/" + "a" * 2048, "longer than"),
])
def test_bad_jwks_uris(url, text):
    with pytest.raises(ValidationError) as raised:
        validate_jwks_uri(url)
    assert text in " ".join(raised.value.messages)


# The keys of a fetched set


def test_only_keys_a_client_may_sign_with_are_used_from_a_fetched_set(caplog):
    caplog.set_level(logging.WARNING, logger="oauth_cc")
    good = [PublicJWK("r", None, private_key("RSA").public_key()),
            PublicJWK("e", "ES256", private_key("EC").public_key()),
            PublicJWK(None, "EdDSA", ed25519.Ed25519PrivateKey.generate().public_key())]
    bad = [PublicJWK("small", None, rsa.generate_private_key(65537, 1024)  # noqa: S505
                     .public_key()),
           PublicJWK("p384", None, ec.generate_private_key(ec.SECP384R1()).public_key()),
           PublicJWK("misfit", "ES256", private_key("RSA").public_key())]
    found = usable_keys((*bad, *good), "https://client.example/jwks")
    assert [key.kid for key in found] == ["r", "e", None]
    assert found[1].algorithms == {"ES256"}
    assert len([r for r in caplog.records if "Skipping a key" in r.getMessage()]) == 3


def test_inline_keys_of_a_broken_document_are_none(caplog):
    # Saved around validation (a raw update): no key, and a warning, rather than an error.
    assert inline_keys('{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}') == ()
    assert "not valid" in caplog.text


def test_garbage_jwk_sets_raise_only_validation_errors():
    import random

    rng = random.Random(714)  # deterministic
    junk: list[Any] = [None, True, 0, -1, 1.5, float("nan"), "", "x", "AQAB", [], {}, ["sig"],
                       {"kty": "RSA"}, "A" * 3000, [None] * 3]
    templates = [rsa_jwk(), public_jwk(private_key("EC"), "e"), public_jwk(private_key("OKP"))]
    for _ in range(400):
        jwk = dict(rng.choice(templates))
        for _ in range(rng.randrange(1, 4)):
            name = rng.choice([*jwk, "kty", "crv", "alg", "use", "key_ops", "kid", "d"])
            jwk[name] = rng.choice(junk)
        document = rng.choice([{"keys": [jwk]}, {"keys": [jwk, rng.choice(junk)]}, [jwk], jwk])
        try:
            validate_jwk_set(document)
            validate_jwk_set(json.dumps(document))
        except ValidationError:
            pass
