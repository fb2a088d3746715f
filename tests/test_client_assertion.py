"""private_key_jwt client authentication (RFC 7523 §2.2, RFC 7521 §4.2), from the attacker's
side: every way an assertion can be wrong is refused with 401 invalid_client, audited and
counted; good assertions of every supported algorithm work at every endpoint.

The helpers at the top are shared with the other test modules that need assertions.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import random
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from django.test import override_settings

from oauth_cc import audit, client_assertion, keys, replay
from oauth_cc.client_assertion import ASSERTION_TYPE, AssertionRejected
from oauth_cc.models import Client, RevokedToken
from tests.conftest import T0
from tests.helpers import all_at_once, basic, post_form, unverified

ISSUER = "https://issuer.test"
TOKEN_URL = "https://issuer.test/oauth/token"
ENDPOINTS = ["/oauth/token", "/oauth/introspect", "/oauth/revoke"]
_KEY_ALGORITHM = {"RSA": "RS256", "EC": "ES256", "OKP": "EdDSA"}
_DELETE = object()


# Helpers


def private_key(kind: str = "RSA") -> Any:
    """A private key of ``kind`` (RSA 2048, EC P-256 or OKP Ed25519), from the test pool."""
    return keys.generate_private_key(_KEY_ALGORITHM[kind])


def public_jwk(key: Any, kid: str | None = "k1", **members: Any) -> dict[str, Any]:
    """The public JWK of a private key, with ``kid`` (unless None) and other ``members``."""
    jwk: dict[str, Any] = dict(keys.public_jwk(key.public_key()))
    if kid is not None:
        jwk["kid"] = kid
    return {**jwk, **members}


def claims_for(client_id: str, *, now: float = T0, **overrides: Any) -> dict[str, Any]:
    """Good assertion claims for ``client_id`` at ``now``; an override of ``_DELETE`` drops
    the claim."""
    claims: dict[str, Any] = {"iss": client_id, "sub": client_id, "aud": TOKEN_URL,
                              "iat": int(now), "exp": int(now) + 60, "jti": uuid.uuid4().hex}
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not _DELETE}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict[str, Any], claims: dict[str, Any] | str,
            sign: Callable[[bytes], bytes]) -> str:
    """A compact JWS of ``header`` and ``claims`` (a dict, or raw payload text)."""
    payload = claims if isinstance(claims, str) else json.dumps(claims)
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(payload.encode())}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


def sign(key: Any, claims: dict[str, Any], *, alg: str | None = None, kid: str | None = "k1",
         **header: Any) -> str:
    """An assertion of ``claims`` signed with ``key`` (PyJWT, except for "Ed25519")."""
    alg = alg or _KEY_ALGORITHM[public_jwk(key, None)["kty"]]
    if kid is not None:
        header["kid"] = kid
    if alg == "Ed25519":  # RFC 9864; PyJWT knows it as EdDSA only
        return compact({"alg": alg, **header}, claims, key.sign)
    return jwt.encode(claims, key, algorithm=alg, headers=header)


def pkcs1(key: Any) -> Callable[[bytes], bytes]:
    """An RS256 signer for ``compact``, for headers PyJWT would not write."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def assertion_params(assertion: str, **params: str) -> dict[str, str]:
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion, **params}


def assertion_request(http: Any, assertion: str, path: str = "/oauth/token", *,
                      token: str = "", **params: str) -> Any:
    """POST ``path`` authenticated by ``assertion``: a token request, or ``token`` to
    introspect or revoke."""
    if path == "/oauth/token":
        params = {"grant_type": "client_credentials", **params}
    else:
        params = {"token": token or "x", **params}
    return post_form(http, path, assertion_params(assertion, **params))


def refused(response: Any, text: str = "") -> str:
    """Assert a 401 invalid_client whose description holds ``text``; return the description."""
    assert response.status_code == 401, response.content
    body = response.json()
    assert body["error"] == "invalid_client"
    assert text in body["error_description"], body["error_description"]
    assert "WWW-Authenticate" not in response  # no Basic was tried
    return str(body["error_description"])


@pytest.fixture
def make_pkjwt_client(scopes: Any) -> Callable[..., tuple[Client, Any]]:
    """Makes a private_key_jwt client with one key (kid "k1") of ``kind``, or with ``jwks``
    / ``jwks_uri`` given; returns ``(client, private key)``."""
    counter = itertools.count(1)

    def make(kind: str = "RSA", *, scope_names: tuple[str, ...] = ("address", "phone"),
             **registration: Any) -> tuple[Client, Any]:
        key = private_key(kind)
        if not registration:
            registration = {"jwks": {"keys": [public_jwk(key)]}}
        client = Client.objects.create_secretless_client(
            f"pkjwt {next(counter)}", scopes=scope_names, **registration)
        return client, key

    return make


@pytest.fixture
def pkjwt_client(make_pkjwt_client: Callable[..., tuple[Client, Any]]) -> tuple[Client, Any]:
    return make_pkjwt_client()


@pytest.fixture
def failures() -> Iterator[list[dict[str, Any]]]:
    """The client_authentication_failed events sent during the test."""
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, event: str, **fields: Any) -> None:
        received.append(fields)

    audit.client_authentication_failed.connect(receiver, weak=False)
    yield received
    audit.client_authentication_failed.disconnect(receiver)


pytestmark = pytest.mark.django_db


# Good assertions


@pytest.mark.parametrize(("kind", "alg"), [("RSA", "RS256"), ("RSA", "PS256"), ("EC", "ES256"),
                                           ("OKP", "EdDSA"), ("OKP", "Ed25519")])
def test_an_assertion_of_each_algorithm_gets_a_token(http, make_pkjwt_client, frozen_clock,
                                                     kind, alg):
    client, key = make_pkjwt_client(kind)
    response = assertion_request(http, sign(key, claims_for(client.client_id), alg=alg))
    assert response.status_code == 200, response.content
    _, claims = unverified(response.json()["access_token"])
    assert claims["client_id"] == claims["sub"] == client.client_id
    assert response.json()["scope"] == "address phone"


@pytest.mark.parametrize("path", ENDPOINTS[1:])
@pytest.mark.parametrize("kind", ["RSA", "EC", "OKP"])
def test_introspection_and_revocation_accept_assertions(http, make_pkjwt_client, frozen_clock,
                                                        path, kind):
    client, key = make_pkjwt_client(kind)
    token = assertion_request(http, sign(key, claims_for(client.client_id))).json()[
        "access_token"]
    response = assertion_request(http, sign(key, claims_for(client.client_id)), path,
                                 token=token)
    assert response.status_code == 200, response.content
    if path == "/oauth/introspect":
        assert response.json()["active"] is True
        assert response.json()["client_id"] == client.client_id
    else:
        assert RevokedToken.objects.filter(client_id=client.client_id).count() == 1


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_refused_assertion_is_refused_at_every_endpoint(http, pkjwt_client, frozen_clock,
                                                          path):
    client, key = pkjwt_client
    assertion = sign(key, claims_for(client.client_id, aud="https://other.example"))
    refused(assertion_request(http, assertion, path), "aud")


@pytest.mark.parametrize("audience", [ISSUER, TOKEN_URL, [ISSUER], ["https://x.test", TOKEN_URL],
                                      [7, None, {"a": 1}, ISSUER]])
def test_audiences_that_name_this_server(http, pkjwt_client, frozen_clock, audience):
    client, key = pkjwt_client
    assertion = sign(key, claims_for(client.client_id, aud=audience))
    assert assertion_request(http, assertion).status_code == 200


def test_the_client_id_parameter_may_name_the_client(http, pkjwt_client, frozen_clock):
    client, key = pkjwt_client
    assertion = sign(key, claims_for(client.client_id))
    assert assertion_request(http, assertion, client_id=client.client_id).status_code == 200


def test_without_a_kid_each_key_that_fits_the_algorithm_is_tried(http, make_pkjwt_client,
                                                                   frozen_clock):
    rsa_one, rsa_two, ec_key = private_key("RSA"), private_key("RSA"), private_key("EC")
    jwks = {"keys": [public_jwk(k, None) for k in (rsa_one, ec_key, rsa_two)]}
    client, _ = make_pkjwt_client(jwks=jwks)
    for key in (rsa_one, rsa_two, ec_key):
        assertion = sign(key, claims_for(client.client_id), kid=None)
        assert assertion_request(http, assertion).status_code == 200


def test_leeway_for_a_client_clock_a_little_ahead(http, pkjwt_client, frozen_clock):
    client, key = pkjwt_client
    ahead = T0 + 20  # within LEEWAY_SECONDS (30)
    claims = claims_for(client.client_id, now=ahead, nbf=int(ahead), exp=int(ahead) + 3600)
    assert assertion_request(http, sign(key, claims)).status_code == 200


def test_a_warm_request_makes_no_database_query(http, pkjwt_client, frozen_clock,
                                                django_assert_num_queries):
    client, key = pkjwt_client
    assert assertion_request(http, sign(key, claims_for(client.client_id))).status_code == 200
    with django_assert_num_queries(0):
        response = assertion_request(http, sign(key, claims_for(client.client_id)))
    assert response.status_code == 200


def test_the_registered_keys_are_parsed_once(http, pkjwt_client, frozen_clock, monkeypatch):
    from oauth_cc import client_keys

    client, key = pkjwt_client
    assert assertion_request(http, sign(key, claims_for(client.client_id))).status_code == 200

    def parse_again(document: Any) -> Any:
        raise AssertionError("the JWK Set was parsed again")

    monkeypatch.setattr(client_keys, "parse_jwk_set", parse_again)
    assert assertion_request(http, sign(key, claims_for(client.client_id))).status_code == 200


# Bad assertions: each is a valid assertion but for one thing.


def _hs256_with(secret_of: Callable[[Any], bytes]) -> Callable[..., str]:
    """An HS256 assertion keyed with what ``secret_of(private key)`` makes of the public key:
    what a verifier that takes the algorithm from the token would accept."""

    def build(client: Client, key: Any, other: Any) -> str:
        secret = secret_of(key)
        return compact({"alg": "HS256", "kid": "k1", "typ": "JWT"}, claims_for(client.client_id),
                       lambda data: hmac.new(secret, data, hashlib.sha256).digest())

    return build


def _pem(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def _claims(**overrides: Any) -> Callable[..., str]:
    def build(client: Client, key: Any, other: Any) -> str:
        return sign(key, claims_for(client.client_id, **overrides))

    return build


def _none_alg(client: Client, key: Any, other: Any) -> str:
    # An unsigned JWT with a signature segment, so that it gets past the compact form.
    return compact({"alg": "none", "kid": "k1"}, claims_for(client.client_id),
                   lambda data: b"\x00")


BAD_ASSERTIONS: list[tuple[str, Callable[..., str], str, str]] = [
    ("wrong iss", _claims(iss="someone-else"), "wrong_iss", "iss claim"),
    ("no iss", _claims(iss=_DELETE), "missing_iss", "no iss claim"),
    ("no sub", _claims(sub=_DELETE), "missing_sub", "no sub claim"),
    ("aud of another server", _claims(aud="https://other.example/oauth/token"),
     "wrong_audience", "aud claim"),
    ("aud of our JWKS", _claims(aud=ISSUER + "/.well-known/jwks.json"), "wrong_audience", "aud"),
    ("aud list of junk", _claims(aud=[1, None, {"aud": ISSUER}, [ISSUER], ISSUER + "/"]),
     "wrong_audience", "aud"),
    ("aud empty list", _claims(aud=[]), "wrong_audience", "aud"),
    ("no aud", _claims(aud=_DELETE), "wrong_audience", "aud"),
    ("no exp", _claims(exp=_DELETE), "missing_exp", "no exp claim"),
    ("exp too far", _claims(exp=int(T0) + 3600 + 31), "assertion_exp_too_far", "seconds ahead"),
    ("expired", _claims(iat=int(T0) - 120, exp=int(T0) - 31), "assertion_expired", "expired"),
    ("exp as a string", _claims(exp=str(int(T0) + 60)), "malformed_assertion", "exp claim"),
    ("exp true", _claims(exp=True), "malformed_assertion", "exp claim"),
    ("exp negative", _claims(exp=-1), "malformed_assertion", "exp claim"),
    ("nbf in the future", _claims(nbf=int(T0) + 31), "assertion_not_yet_valid", "nbf"),
    ("iat in the future", _claims(iat=int(T0) + 31), "assertion_issued_in_future", "iat"),
    ("iat as a string", _claims(iat="now"), "malformed_assertion", "iat claim"),
    ("no jti", _claims(jti=_DELETE), "missing_jti", "no jti claim"),
    ("empty jti", _claims(jti=""), "missing_jti", "jti"),
    ("jti a number", _claims(jti=12345), "missing_jti", "jti"),
    ("jti too long", _claims(jti="j" * 257), "malformed_assertion", "jti"),
    ("alg none", _none_alg, "unsupported_algorithm", "alg must be one of"),
    ("HS256 keyed with the public key PEM", _hs256_with(_pem), "unsupported_algorithm",
     "alg must be one of"),
    ("HS256 keyed with the public JWK", _hs256_with(
        lambda key: json.dumps(public_jwk(key)).encode()), "unsupported_algorithm", "alg"),
    ("HS256 keyed with the modulus", _hs256_with(
        lambda key: public_jwk(key)["n"].encode()), "unsupported_algorithm", "alg"),
    ("RS512: not an algorithm we accept",
     lambda c, k, o: sign(k, claims_for(c.client_id), alg="RS512"), "unsupported_algorithm",
     "alg"),
    ("ES256 header on an RSA key", lambda c, k, o: compact(
        {"alg": "ES256", "kid": "k1"}, claims_for(c.client_id), lambda d: b"\x01" * 64),
     "algorithm_mismatch", "does not fit"),
    ("signed by another client's key, same kid",
     lambda c, k, o: sign(o, claims_for(c.client_id)), "bad_signature", "signature"),
    ("signed by another client's key, its kid",
     lambda c, k, o: sign(o, claims_for(c.client_id), kid="other-k"), "unknown_kid", "kid"),
    ("unknown kid", lambda c, k, o: sign(k, claims_for(c.client_id), kid="nope"),
     "unknown_kid", "kid names no key"),
    ("kid not a string", lambda c, k, o: compact({"alg": "RS256", "kid": ["k1"]},
                                                 claims_for(c.client_id), pkcs1(k)),
     "malformed_assertion", "kid"),
    ("a tampered payload", lambda c, k, o: _tampered(sign(k, claims_for(c.client_id)), c),
     "bad_signature", "signature"),
    ("typ of an access token", lambda c, k, o: sign(k, claims_for(c.client_id), typ="at+jwt"),
     "wrong_type", "typ"),
    ("typ of a DPoP proof", lambda c, k, o: sign(k, claims_for(c.client_id), typ="dpop+jwt"),
     "wrong_type", "typ"),
    ("crit header", lambda c, k, o: compact({"alg": "RS256", "kid": "k1", "crit": ["exp"]},
                                            claims_for(c.client_id), pkcs1(k)),
     "malformed_assertion", "crit"),
    ("not a JWT", lambda c, k, o: "not-a-jwt", "malformed_assertion", "signed JWT"),
    ("header not JSON", lambda c, k, o: "bm90IGpzb24." + sign(k, claims_for(c.client_id))
     .split(".", 1)[1], "malformed_assertion", "header"),
    ("payload a JSON list", lambda c, k, o: compact({"alg": "RS256", "kid": "k1"}, "[1, 2]",
                                                    lambda d: b"\x01" * 256),
     "malformed_assertion", "payload"),
    ("payload names iss twice", lambda c, k, o: compact(
        {"alg": "RS256", "kid": "k1"},
        f'{{"iss": "{c.client_id}", "iss": "x", "sub": "{c.client_id}"}}', pkcs1(k)),
     "malformed_assertion", "more than one"),
    ("longer than 8 KiB", lambda c, k, o: sign(k, claims_for(c.client_id, pad="x" * 8200)),
     "malformed_assertion", "longer than 8192"),
    # A lone surrogate escape (RFC 8259 §8.2) is no text: it once failed as the throttle's
    # and the replay check's keys were hashed, a 500 that needed no key.
    ("iss and sub a lone surrogate", lambda c, k, o: compact(
        {"alg": "RS256", "kid": "k1"}, '{"iss": "\\ud800", "sub": "\\ud800"}',
        lambda d: b"\x01" * 256), "malformed_assertion", "not Unicode"),
    ("jti a lone surrogate, signed", _claims(jti="\udfff"), "malformed_assertion",
     "not Unicode"),
]


def _tampered(assertion: str, client: Client) -> str:
    header, _, signature = assertion.split(".")
    claims = claims_for(client.client_id, exp=int(T0) + 120)
    return f"{header}.{b64(json.dumps(claims).encode())}.{signature}"


@pytest.mark.parametrize(("build", "reason", "text"),
                         [pytest.param(*case[1:], id=case[0]) for case in BAD_ASSERTIONS])
def test_a_bad_assertion_is_refused_audited_and_never_echoed(
        http, make_pkjwt_client, frozen_clock, failures, build, reason, text):
    client, key = make_pkjwt_client()
    other_key = private_key()  # another client's, registered as "other-k"
    make_pkjwt_client(jwks={"keys": [public_jwk(other_key, "other-k")]})
    assertion = build(client, key, other_key)
    description = refused(assertion_request(http, assertion), text)
    assert [event["reason"] for event in failures] == [reason]
    assert failures[0]["endpoint"] == "token"
    assert failures[0]["remote_addr"] == "127.0.0.1"
    for segment in assertion.split("."):
        if len(segment) > 8:
            assert segment not in description


def test_a_key_registered_by_another_client_does_not_authenticate_this_one(
        http, make_pkjwt_client, frozen_clock):
    victim, _ = make_pkjwt_client()
    _, attacker_key = make_pkjwt_client()  # both register kid "k1"
    refused(assertion_request(http, sign(attacker_key, claims_for(victim.client_id))),
            "signature")


@pytest.mark.parametrize("claims", [{"iss": "x"}, {"sub": "x"}, {}])
def test_a_client_id_parameter_that_is_not_the_assertions_client(
        http, make_pkjwt_client, frozen_clock, failures, claims):
    client, key = make_pkjwt_client()
    other, _ = make_pkjwt_client()
    assertion = sign(key, claims_for(client.client_id, **{
        name: other.client_id for name in claims}))
    # Counted and judged as the client the parameter names, whose id the claims must be.
    refused(assertion_request(http, assertion, client_id=other.client_id),
            "client_id parameter")
    assert failures[0]["reason"] in ("wrong_iss", "wrong_sub")
    assert failures[0]["client_id"] == other.client_id


def test_the_alg_a_jwk_names_is_the_only_one_its_key_verifies(http, make_pkjwt_client,
                                                               frozen_clock):
    key = private_key()
    client, _ = make_pkjwt_client(jwks={"keys": [public_jwk(key, alg="RS256")]})
    refused(assertion_request(http, sign(key, claims_for(client.client_id), alg="PS256")),
            "does not fit")
    assert assertion_request(http, sign(key, claims_for(client.client_id))).status_code == 200


def test_a_replayed_assertion_is_refused(http, pkjwt_client, frozen_clock, failures):
    client, key = pkjwt_client
    assertion = sign(key, claims_for(client.client_id))
    assert assertion_request(http, assertion).status_code == 200
    refused(assertion_request(http, assertion), "used before")
    # At another endpoint too: one jti, one use, wherever.
    refused(assertion_request(http, assertion, "/oauth/introspect"), "used before")
    assert [event["reason"] for event in failures] == ["assertion_replayed"] * 2
    # A new jti is fine.
    assert assertion_request(http, sign(key, claims_for(client.client_id))).status_code == 200


def test_a_jti_is_remembered_until_the_assertion_expires(http, pkjwt_client, frozen_clock):
    client, key = pkjwt_client
    assertion = sign(key, claims_for(client.client_id, exp=int(T0) + 600))
    assert assertion_request(http, assertion).status_code == 200
    frozen_clock.advance(599)
    refused(assertion_request(http, assertion), "used before")
    frozen_clock.advance(31)
    refused(assertion_request(http, assertion), "expired")


def test_each_client_has_its_own_jtis(http, make_pkjwt_client, frozen_clock):
    (one, one_key), (two, two_key) = make_pkjwt_client(), make_pkjwt_client()
    for client, key in ((one, one_key), (two, two_key)):
        assertion = sign(key, claims_for(client.client_id, jti="same"))
        assert assertion_request(http, assertion).status_code == 200


class RacingCache:
    """The shared cache, but each read waits until the other racer reads too: a replay check
    that reads, then writes, lets both racers through; an atomic ``add`` reads nothing."""

    def __init__(self, racers: int) -> None:
        import threading

        self.barrier = threading.Barrier(racers)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        import threading

        from django.core.cache import cache

        value = cache.get(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):
            self.barrier.wait(timeout=2)  # every racer has read before any goes on
        return value

    def __getattr__(self, name: str) -> Any:
        from django.core.cache import cache

        return getattr(cache, name)


def test_one_assertion_sent_at_once_is_accepted_once(pkjwt_client, frozen_clock, monkeypatch):
    """cache.add is the atomic test-and-set: of requests racing with one jti, one wins."""
    client, key = pkjwt_client
    parsed = client_assertion.parse(sign(key, claims_for(client.client_id)))
    racing = RacingCache(8)
    monkeypatch.setattr(replay, "shared_cache", lambda: racing)

    def use() -> bool:
        try:
            client_assertion.use_once(client.client_id, parsed, now=T0)
        except AssertionRejected:
            return False
        return True

    assert sorted(all_at_once(8, use)) == [False] * 7 + [True]


def test_a_failed_assertion_does_not_use_up_its_jti(http, pkjwt_client, frozen_clock):
    client, key = pkjwt_client
    claims = claims_for(client.client_id)
    forged = sign(private_key(), claims)  # the same jti, signed by someone else
    refused(assertion_request(http, forged), "signature")
    assert assertion_request(http, sign(key, claims)).status_code == 200


# The client's method and state


def test_a_secret_for_a_private_key_jwt_client_is_refused(http, pkjwt_client, failures):
    client, _ = pkjwt_client
    assert client.secret_hash == ""
    for secret in ("guess", "x"):
        response = post_form(http, "/oauth/token", {"grant_type": "client_credentials",
                                                    "client_id": client.client_id,
                                                    "client_secret": secret})
        refused(response, "private_key_jwt")
    response = post_form(http, "/oauth/token", {"grant_type": "client_credentials"},
                         HTTP_AUTHORIZATION=basic(client.client_id, "x"))
    assert response.status_code == 401
    assert "private_key_jwt" in response.json()["error_description"]
    assert response["WWW-Authenticate"] == 'Basic realm="oauth"'
    assert {event["reason"] for event in failures} == {"wrong_auth_method"}


def test_an_assertion_for_a_secret_client_is_refused(http, oauth_client, frozen_clock,
                                                     failures):
    client, _ = oauth_client
    assertion = sign(private_key(), claims_for(client.client_id))
    refused(assertion_request(http, assertion), "client secret")
    assert failures[0]["reason"] == "wrong_auth_method"


def test_an_assertion_for_an_unknown_client(http, frozen_clock, failures):
    refused(assertion_request(http, sign(private_key(), claims_for("nobody"))), "Unknown client")
    assert failures[0]["reason"] == "unknown_client"
    assert failures[0]["client_id"] == "nobody"


def test_a_disabled_client_or_project(http, pkjwt_client, frozen_clock):
    client, key = pkjwt_client
    client.set_active(False)
    refused(assertion_request(http, sign(key, claims_for(client.client_id))), "disabled")
    client.set_active(True)
    client.project.set_active(False)
    refused(assertion_request(http, sign(key, claims_for(client.client_id))), "not enabled")


def test_switching_to_a_secret_stops_the_keys_at_once(http, pkjwt_client, frozen_clock):
    client, key = pkjwt_client
    assert assertion_request(http, sign(key, claims_for(client.client_id))).status_code == 200
    secret = client.use_client_secret()
    refused(assertion_request(http, sign(key, claims_for(client.client_id))), "client secret")
    response = post_form(http, "/oauth/token", {"grant_type": "client_credentials",
                                                "client_id": client.client_id,
                                                "client_secret": secret})
    assert response.status_code == 200


def test_replacing_the_keys_applies_at_once(http, pkjwt_client, frozen_clock):
    client, old_key = pkjwt_client
    assert assertion_request(http, sign(old_key, claims_for(client.client_id))).status_code == 200
    new_key = private_key("EC")
    client.use_private_key_jwt(jwks={"keys": [public_jwk(new_key, "k2")]})
    refused(assertion_request(http, sign(old_key, claims_for(client.client_id))), "kid")
    response = assertion_request(http, sign(new_key, claims_for(client.client_id), kid="k2"))
    assert response.status_code == 200


# Brute force


@override_settings(OAUTH_CC={"ISSUER": ISSUER, "AUTH_FAILURES_PER_CLIENT": 3})
def test_failed_assertions_count_toward_the_limit(http, pkjwt_client, frozen_clock):
    client, key = pkjwt_client
    for _ in range(3):
        refused(assertion_request(http, sign(key, claims_for(client.client_id, aud="x"))))
    response = assertion_request(http, sign(key, claims_for(client.client_id)))
    assert response.status_code == 429
    assert response.json()["error"] == "slow_down"
    assert int(response["Retry-After"]) > 0
    # Secrets and assertions share one count: the client id is blocked from here either way.
    response = post_form(http, "/oauth/token", {"grant_type": "client_credentials",
                                                "client_id": client.client_id,
                                                "client_secret": "x"})
    assert response.status_code == 429
    frozen_clock.advance(301)
    assertion = sign(key, claims_for(client.client_id, now=frozen_clock.at))
    assert assertion_request(http, assertion).status_code == 200


@override_settings(OAUTH_CC={"ISSUER": ISSUER, "AUTH_FAILURES_PER_ADDRESS": 3,
                             "AUTH_FAILURES_PER_CLIENT_TOTAL": 0})
def test_garbage_that_names_no_client_counts_toward_the_address_limit(http, pkjwt_client,
                                                                      frozen_clock, failures):
    client, key = pkjwt_client
    for garbage in ("x", "a.b.c", "e30.e30.AA"):
        refused(assertion_request(http, garbage))
    assert [event["client_id"] for event in failures] == ["", "", ""]
    assert assertion_request(http, sign(key, claims_for(client.client_id))).status_code == 429


def test_a_blocked_client_has_its_assertion_unchecked(http, pkjwt_client, frozen_clock,
                                                      monkeypatch):
    client, key = pkjwt_client
    for _ in range(10):
        refused(assertion_request(http, sign(key, claims_for(client.client_id, aud="x"))))

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("checked while blocked")

    monkeypatch.setattr(client_assertion, "verify", never)
    assert assertion_request(http, sign(key, claims_for(client.client_id))).status_code == 429


# Garbage never makes a 500


def _fuzz_cases(client_id: str, key: Any) -> list[str]:
    rng = random.Random(1414)  # deterministic
    good = sign(key, claims_for(client_id))
    header, payload, signature = good.split(".")
    nan, infinity = b'{"exp": NaN, "sub": 1}', b'{"exp": Infinity}'
    cases = [
        "", ".", "..", "...", "a..b", good + ".", good + "=", "." + good, good.replace(".", " "),
        "é.é.é", "\x00.\x00.\x00", f"{header}.{payload}", f"{header}.{payload}.{signature}A",
        f"{header}.{payload}.{signature[:-1]}", f"{header}={payload}.{signature}",
        f"{b64(b'{}')}.{payload}.{signature}", f"{b64(b'[]')}.{payload}.{signature}",
        f"{b64(b'null')}.{payload}.{signature}", f"{b64(bytes([0xff, 0xfe]))}.{payload}.x",
        f"{b64(b'{' * 5000)}.{payload}.{signature}",
        f"{b64(json.dumps({'alg': 7}).encode())}.{payload}.{signature}",
        f"{b64(json.dumps({'alg': ['RS256']}).encode())}.{payload}.{signature}",
        f"{b64(json.dumps({'alg': 'RS256', 'kid': {}}).encode())}.{payload}.{signature}",
        f"{b64(json.dumps({'alg': 'RS256', 'typ': 5}).encode())}.{payload}.{signature}",
        f"{header}.{b64(b'1e400')}.{signature}",
        f"{header}.{b64(json.dumps({'exp': 1e308, 'iss': client_id}).encode())}.{signature}",
        f"{header}.{b64(nan)}.{signature}", f"{header}.{b64(infinity)}.{signature}",
        f"{header}.{b64(json.dumps({'sub': client_id * 40}).encode())}.{signature}",
        f"{header}.{b64(json.dumps({'sub': 'a' + chr(0) + 'b'}).encode())}.{signature}",
        f"{header}.{b64(json.dumps({'sub': ['x']}).encode())}.{signature}",
        "x" * 12000,  # longer than an assertion may be, within the form's 16 KiB
    ]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/% "
    for _ in range(40):
        cases.append("".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 300))))
        # One to three characters changed, each to another one: a "mutation" that put back
        # the same character would be the good assertion itself, and rightly accepted.
        chars = list(good)
        for position in rng.sample(range(len(chars)), rng.randrange(1, 4)):
            chars[position] = rng.choice(alphabet.replace(chars[position], ""))
        cases.append("".join(chars))
    assert good not in cases
    return cases


def test_garbage_assertions_are_invalid_client_never_a_500(http, pkjwt_client, frozen_clock,
                                                           settings):
    settings.OAUTH_CC = {"ISSUER": ISSUER, "AUTH_FAILURE_WINDOW_SECONDS": 0}  # no 429s here
    client, key = pkjwt_client
    for case in _fuzz_cases(client.client_id, key):
        response = assertion_request(http, case)
        if case:
            assert response.status_code == 401, (case[:80], response.content)
            assert response.json()["error"] == "invalid_client"
        else:  # an empty value is an absent one (RFC 6749 §3.1)
            assert response.status_code == 401
    for client_id in ("x" * 100, "\x00", "é", client.client_id + " "):
        response = assertion_request(http, sign(key, claims_for(client.client_id)),
                                     client_id=client_id)
        assert response.status_code == 401, response.content


# Keys at a jwks_uri


@pytest.fixture
def jwks_server() -> Iterator[Any]:
    from tests.test_remote_jwks import JWKSServer

    server = JWKSServer()
    yield server
    server.close()


@pytest.fixture
def uri_client(make_pkjwt_client, jwks_server, settings, frozen_clock):
    """A client whose keys are at ``jwks_server`` (which serves one RSA key, kid "k1")."""
    settings.OAUTH_CC = {"ISSUER": ISSUER, "JWKS_FETCH_TIMEOUT": 5.0}
    key = private_key()
    jwks_server.document = {"keys": [public_jwk(key)]}
    client, _ = make_pkjwt_client(jwks_uri=jwks_server.url)
    return client, key


def test_keys_at_the_jwks_uri_are_fetched_once_and_cached(http, uri_client, jwks_server,
                                                          frozen_clock):
    client, key = uri_client
    for _ in range(3):
        assertion = sign(key, claims_for(client.client_id, now=frozen_clock.at))
        assert assertion_request(http, assertion).status_code == 200
        frozen_clock.advance(60)
    assert jwks_server.hits == 1
    frozen_clock.advance(300)  # past the set's max-age
    assertion = sign(key, claims_for(client.client_id, now=frozen_clock.at))
    assert assertion_request(http, assertion).status_code == 200
    assert jwks_server.hits == 2


def test_an_unknown_kid_refetches_at_most_once_per_min_refetch(http, uri_client, jwks_server,
                                                               frozen_clock, failures):
    client, key = uri_client
    assert assertion_request(http, sign(key, claims_for(client.client_id))).status_code == 200
    frozen_clock.advance(30)  # JWKS_MIN_REFETCH_SECONDS
    new_key = private_key("EC")

    def new_assertion() -> str:
        return sign(new_key, claims_for(client.client_id, now=frozen_clock.at), kid="k2")

    refused(assertion_request(http, new_assertion()), "at its jwks_uri")
    assert jwks_server.hits == 2  # refetched for the unknown kid
    refused(assertion_request(http, new_assertion()))
    jwks_server.document = {"keys": [public_jwk(key), public_jwk(new_key, "k2")]}
    refused(assertion_request(http, new_assertion()))
    assert jwks_server.hits == 2  # a flood of unknown kids costs one fetch per interval
    frozen_clock.advance(30)
    assert assertion_request(http, new_assertion()).status_code == 200
    assert jwks_server.hits == 3
    assert {event["reason"] for event in failures} == {"unknown_kid"}


def test_a_rotated_key_without_kid_is_fetched_again(http, make_pkjwt_client, jwks_server,
                                                    settings, frozen_clock):
    settings.OAUTH_CC = {"ISSUER": ISSUER, "JWKS_FETCH_TIMEOUT": 5.0}
    old_key, new_key = private_key(), private_key()
    jwks_server.document = {"keys": [public_jwk(old_key, None)]}
    client, _ = make_pkjwt_client(jwks_uri=jwks_server.url)
    assertion = sign(old_key, claims_for(client.client_id), kid=None)
    assert assertion_request(http, assertion).status_code == 200
    jwks_server.document = {"keys": [public_jwk(new_key, None)]}
    frozen_clock.advance(30)
    assertion = sign(new_key, claims_for(client.client_id, now=frozen_clock.at), kid=None)
    assert assertion_request(http, assertion).status_code == 200
    assert jwks_server.hits == 2


def test_keys_that_cannot_be_fetched(http, uri_client, jwks_server, frozen_clock, failures):
    client, key = uri_client
    jwks_server.status = 500
    refused(assertion_request(http, sign(key, claims_for(client.client_id))),
            "could not be fetched")
    refused(assertion_request(http, sign(key, claims_for(client.client_id))),
            "could not be fetched")
    assert jwks_server.hits == 1  # a broken URL is not fetched on every request
    assert [event["reason"] for event in failures] == ["keys_unavailable"] * 2
    jwks_server.status = 200
    frozen_clock.advance(30)
    assertion = sign(key, claims_for(client.client_id, now=frozen_clock.at))
    assert assertion_request(http, assertion).status_code == 200


@pytest.mark.parametrize("breakage", ["status", "not json", "not a set", "too many keys"])
def test_a_failed_fetch_keeps_the_last_good_keys(http, uri_client, jwks_server, frozen_clock,
                                                 breakage):
    client, key = uri_client
    assert assertion_request(http, sign(key, claims_for(client.client_id))).status_code == 200
    if breakage == "status":
        jwks_server.status = 503
    elif breakage == "not json":
        jwks_server.document = b"<html>maintenance</html>"
    elif breakage == "not a set":
        jwks_server.document = {"kty": "RSA"}
    else:
        jwks_server.document = {"keys": [public_jwk(private_key("EC"), f"e{i}")
                                         for i in range(11)]}
    frozen_clock.advance(301)
    assertion = sign(key, claims_for(client.client_id, now=frozen_clock.at))
    assert assertion_request(http, assertion).status_code == 200
    assert jwks_server.hits == 2


def test_a_set_emptied_by_its_client_withdraws_the_keys(http, uri_client, jwks_server,
                                                        frozen_clock):
    client, key = uri_client
    assert assertion_request(http, sign(key, claims_for(client.client_id))).status_code == 200
    jwks_server.document = {"keys": []}
    frozen_clock.advance(301)
    refused(assertion_request(http, sign(key, claims_for(client.client_id, now=frozen_clock.at))),
            "kid names no key")


def test_an_inline_set_never_fetches_anything(http, pkjwt_client, frozen_clock, monkeypatch):
    from oauth_cc import client_keys

    def fetch(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("fetched")

    monkeypatch.setattr(client_keys, "fetch_jwks", fetch)
    client, key = pkjwt_client
    refused(assertion_request(http, sign(key, claims_for(client.client_id), kid="k9")), "kid")
    refused(assertion_request(http, sign(private_key(), claims_for(client.client_id), kid=None)),
            "signature")
