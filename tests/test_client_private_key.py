"""``TokenClient(..., private_key=...)``: private_key_jwt client authentication (RFC 7523 §2.2,
CONTRACT.md §11) on the consumer side.

First against the scripted server of ``test_client.py`` (what goes on the wire, which keys are
accepted, the key never shown), then against the real token endpoint over HTTP on loopback.
The keys are generated here, once per module; none is committed.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from django.test import override_settings
from pytest_django.live_server_helper import LiveServer

from oauth_cc.client import TokenClient, TokenError
from oauth_cc.client import httpx as httpx_adapter
from oauth_cc.client import requests as requests_adapter
from oauth_cc.client.private_key import (
    ASSERTION_LIFETIME,
    ASSERTION_TYPE,
    AssertionSigner,
    public_jwk_set,
)
from oauth_cc.models import Client
from tests.conftest import T0
from tests.test_client import (
    ADAPTERS,
    SEED_1024,
    Recorded,
    Reply,
    Stub,
    api,
    reply,
    send,
    shown_in_report,
    stub,
    unforeseen,
)
from tests.test_client_live import issued, token_url

__all__ = ["api", "issued", "stub", "token_url"]  # fixtures

PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
KINDS = {"RS256": "rsa", "ES256": "ec", "EdDSA": "ed25519"}


@dataclass(frozen=True, repr=False)
class Key:
    """A generated private key and every form in which it must never be shown."""

    key: Any
    pem: str
    forms: tuple[str, ...]

    @property
    def public(self) -> Any:
        return self.key.public_key()


def make_key(private: Any) -> Key:
    pem = private.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    # The PEM, each of its base64 lines, and the private number as a JWK member would carry.
    forms = [pem, *(line for line in pem.splitlines() if not line.startswith("-----"))]
    if isinstance(private, rsa.RSAPrivateKey):
        forms += [jwt.algorithms.RSAAlgorithm.to_jwk(private, as_dict=True)["d"],
                  str(private.private_numbers().d)]
    elif isinstance(private, ec.EllipticCurvePrivateKey):
        forms += [jwt.algorithms.ECAlgorithm.to_jwk(private, as_dict=True)["d"],
                  str(private.private_numbers().private_value)]
    elif isinstance(private, ed25519.Ed25519PrivateKey):
        forms += [jwt.algorithms.OKPAlgorithm.to_jwk(private, as_dict=True)["d"]]
    return Key(private, pem, tuple(forms))


@pytest.fixture(scope="module")
def keys() -> dict[str, Key]:
    return {
        "rsa": make_key(rsa.generate_private_key(65537, 2048)),
        "ec": make_key(ec.generate_private_key(ec.SECP256R1())),
        "ed25519": make_key(ed25519.Ed25519PrivateKey.generate()),
        "other-rsa": make_key(rsa.generate_private_key(65537, 2048)),
    }


def key_shown(key: Key, *texts: str) -> list[str]:
    return [text for text in texts if any(form in text for form in key.forms)]


def key_client(stub: Stub, key: Any, **kwargs: Any) -> TokenClient:
    return TokenClient(stub.url + "/token", "client-1", private_key=key, **kwargs)


def sent_assertion(request: Recorded) -> str:
    (assertion,) = request.form["client_assertion"]
    return assertion


def verified(assertion: str, key: Key, algorithm: str, audience: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(
        assertion, key.public, algorithms=[algorithm], audience=audience,
        options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]})
    return claims


# --- importing -------------------------------------------------------------------------------

def test_pyjwt_is_imported_only_for_a_private_key_and_django_never() -> None:
    code = (
        "import sys\n"
        "from oauth_cc.client import TokenClient\n"
        "TokenClient('https://issuer.test/token', 'c', 's3cret')\n"
        "assert not {'jwt', 'cryptography', 'django'} & set(sys.modules), sys.modules.keys()\n"
        "from cryptography.hazmat.primitives.asymmetric import ec\n"
        "TokenClient('https://issuer.test/token', 'c',\n"
        "            private_key=ec.generate_private_key(ec.SECP256R1()))\n"
        "assert 'jwt' in sys.modules and 'django' not in sys.modules\n"
    )
    env = {name: value for name, value in os.environ.items()
           if name != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr


# --- the request on the wire -----------------------------------------------------------------

@pytest.mark.parametrize("algorithm", KINDS)
@pytest.mark.parametrize("given_as", ["object", "pem-text", "pem-bytes"])
def test_each_request_carries_an_assertion_signed_with_the_key(
        stub: Stub, keys: dict[str, Key], algorithm: str, given_as: str) -> None:
    key = keys[KINDS[algorithm]]
    private = {"object": key.key, "pem-text": key.pem, "pem-bytes": key.pem.encode()}[given_as]
    before = int(time.time())

    tokens = key_client(stub, private, scope="address", expires_in=120)
    assert tokens.get_token() == "token-1"

    (sent,) = stub.requests
    assert "Authorization" not in sent.headers  # never Basic, never both
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = sent.form
    assert form.keys() == {"grant_type", "client_id", "client_assertion_type",
                           "client_assertion", "scope", "expires_in"}
    assert form["grant_type"] == ["client_credentials"]
    assert form["client_id"] == ["client-1"]
    assert form["client_assertion_type"] == [ASSERTION_TYPE]
    assert (form["scope"], form["expires_in"]) == (["address"], ["120"])
    assertion = sent_assertion(sent)
    assert jwt.get_unverified_header(assertion) == {"alg": algorithm, "typ": "JWT"}
    claims = verified(assertion, key, algorithm, audience=stub.url + "/token")
    assert claims["iss"] == claims["sub"] == "client-1"
    assert claims["aud"] == stub.url + "/token"
    assert before <= claims["iat"] <= time.time()
    assert claims["exp"] == claims["iat"] + ASSERTION_LIFETIME == claims["iat"] + 60
    assert len(claims["jti"]) >= 32
    assert tokens.auth_method == "private_key_jwt"


def test_key_id_is_the_kid_header(stub: Stub, keys: dict[str, Key]) -> None:
    key_client(stub, keys["ec"].key, key_id="key-2026-01").get_token()
    header = jwt.get_unverified_header(sent_assertion(stub.requests[0]))
    assert header == {"alg": "ES256", "typ": "JWT", "kid": "key-2026-01"}


def test_every_token_request_signs_a_new_assertion(stub: Stub, keys: dict[str, Key]) -> None:
    tokens = key_client(stub, keys["ed25519"].key)
    assert tokens.get_token() == "token-1"
    tokens.invalidate()
    assert tokens.get_token() == "token-2"
    assert tokens.get_token() == "token-2"  # cached: no request, no assertion

    first, second = (sent_assertion(request) for request in stub.at("/token"))
    assert first != second
    jtis = {jwt.decode(a, options={"verify_signature": False})["jti"] for a in (first, second)}
    assert len(jtis) == 2


def test_auth_method_may_say_private_key_jwt(stub: Stub, keys: dict[str, Key]) -> None:
    key_client(stub, keys["ec"].key, auth_method="private_key_jwt").get_token()
    assert "client_assertion" in stub.requests[0].form


def test_the_assertion_claims_from_a_frozen_clock(keys: dict[str, Key]) -> None:
    client_key = AssertionSigner.load(keys["rsa"].key, "k1")
    assertion = client_key.assertion("client-1", "https://issuer.test/oauth/token",
                                     now=lambda: T0 + 0.9)
    claims = jwt.decode(assertion, keys["rsa"].public, algorithms=["RS256"],
                        audience="https://issuer.test/oauth/token",
                        options={"verify_exp": False, "verify_iat": False})
    assert {name: claims[name] for name in ("iss", "sub", "aud", "iat", "exp")} == {
        "iss": "client-1", "sub": "client-1", "aud": "https://issuer.test/oauth/token",
        "iat": int(T0), "exp": int(T0) + 60}


# --- the public JWK Set to register ----------------------------------------------------------

@pytest.mark.parametrize(("algorithm", "members"), [
    ("RS256", {"kty", "n", "e"}), ("ES256", {"kty", "crv", "x", "y"}),
    ("EdDSA", {"kty", "crv", "x"}),
])
def test_public_jwk_set_holds_the_public_key_only(keys: dict[str, Key], algorithm: str,
                                                  members: set[str]) -> None:
    key = keys[KINDS[algorithm]]
    document = public_jwk_set(key.pem, key_id="k1")

    (jwk,) = document["keys"]
    assert jwk.keys() == members | {"use", "alg", "kid"}
    assert (jwk["use"], jwk["alg"], jwk["kid"]) == ("sig", algorithm, "k1")
    assert not PRIVATE_JWK_MEMBERS & jwk.keys()
    assert not key_shown(key, json.dumps(document))
    # What the server does with it: verify the client's assertion.
    assertion = AssertionSigner.load(key.key, "k1").assertion("c", "https://issuer.test/token")
    public = jwt.PyJWK(jwk).key
    assert jwt.decode(assertion, public, algorithms=[algorithm],
                      audience="https://issuer.test/token")["sub"] == "c"
    assert "kid" not in public_jwk_set(key.key)["keys"][0]


# --- arguments -------------------------------------------------------------------------------

def pem_of(private: Any, encryption: Any = None) -> str:
    pem: bytes = private.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       encryption or serialization.NoEncryption())
    return pem.decode()


@pytest.fixture(scope="module")
def unusable() -> dict[str, Any]:
    """Keys (and things that are not keys) that TokenClient refuses, by what it says."""
    small = rsa.generate_private_key(65537, 1024)  # noqa: S505 - refused, as it should be
    ec384 = ec.generate_private_key(ec.SECP384R1())
    return {
        "1024-bit RSA key": small,
        "1024-bit RSA key (PEM)": pem_of(small),
        "EC key on secp384r1": ec384,
        "EC key on secp384r1 (PEM)": pem_of(ec384),
        "public key": ec384.public_key(),
        "encrypted PEM": pem_of(ed25519.Ed25519PrivateKey.generate(),
                                serialization.BestAvailableEncryption(b"passphrase")),
        "not PEM": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
        "cannot be read": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "public PEM": ec384.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
        "Ed448 key": ed448.Ed448PrivateKey.generate(),
        "DSA key (PEM)": pem_of(dsa.generate_private_key(2048)),
        "a number": 42,
        "non-ASCII": "-----BEGIN PRIVATE KEY-----\né\n-----END PRIVATE KEY-----",
    }


@pytest.mark.parametrize(("case", "message"), [
    ("1024-bit RSA key", "1024-bit RSA key; the server accepts 2048 bits or more"),
    ("1024-bit RSA key (PEM)", "1024-bit RSA key"),
    ("EC key on secp384r1", "EC key on secp384r1; only P-256"),
    ("EC key on secp384r1 (PEM)", "only P-256"),
    ("public key", "is a public key"),
    ("public PEM", "is a public key"),
    ("encrypted PEM", "encrypted PEM: load it with cryptography"),
    ("not PEM", "no -----BEGIN"),
    ("cannot be read", "cannot be read as an unencrypted PEM private key"),
    ("Ed448 key", "must be PEM text or bytes of a private key, or a cryptography"),
    ("DSA key (PEM)", "is a DSA key; it must be an RSA key"),
    ("a number", "must be PEM text or bytes"),
    ("non-ASCII", "non-ASCII"),
])
def test_an_unusable_key_is_a_clear_value_error(unusable: dict[str, Any], case: str,
                                                message: str) -> None:
    private = unusable[case]
    with pytest.raises(ValueError) as caught:
        TokenClient("https://issuer.test/token", "client-1", private_key=private)

    assert type(caught.value) is ValueError
    assert message in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    report = shown_in_report(caught.value)
    if isinstance(private, str) and "BEGIN" in private:
        body = "".join(private.splitlines()[1:-1])
        assert private not in report and body not in report


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "exactly one of client_secret and private_key"),
    ({"client_secret": "s3cret", "private_key": "KEY"}, "exactly one"),
    ({"client_secret": "s3cret", "key_id": "k1"}, "key_id goes with a private_key"),
    ({"client_secret": "s3cret", "auth_method": "private_key_jwt"}, "needs a private_key"),
    ({"private_key": "KEY", "auth_method": "client_secret_post"},
     "must be private_key_jwt with a private_key"),
    ({"private_key": "KEY", "key_id": ""}, "key_id must be printable text"),
    ({"private_key": "KEY", "key_id": "a\nb"}, "key_id must be printable text"),
    ({"private_key": "KEY", "client_id": ""}, "client_id is required"),
    ({"private_key": "KEY", "token_url": "http://issuer.test/token"}, "is http"),
])
def test_bad_arguments_are_a_value_error(keys: dict[str, Key], kwargs: dict[str, Any],
                                         message: str) -> None:
    if kwargs.get("private_key") == "KEY":
        kwargs["private_key"] = keys["ec"].pem
    arguments = {"token_url": "https://issuer.test/token", "client_id": "client-1", **kwargs}

    with pytest.raises(ValueError, match=message) as caught:
        TokenClient(**arguments)

    assert not key_shown(keys["ec"], shown_in_report(caught.value))


# --- the key is never shown ------------------------------------------------------------------

def echo(request: Recorded) -> Reply:
    """A careless server that echoes the whole request (the assertion too) in its error."""
    body = request.body.decode()
    return reply(401, {"error": "invalid_client", "error_description": f"Bad: {body}"})


@pytest.mark.parametrize("given_as", ["object", "pem-text"])
def test_the_key_never_appears_in_reprs_errors_or_logs(
        stub: Stub, keys: dict[str, Key], caplog: pytest.LogCaptureFixture,
        given_as: str) -> None:
    key = keys["rsa"]
    stub.routes["/token"] = echo
    tokens = key_client(stub, key.key if given_as == "object" else key.pem, key_id="k1")

    with caplog.at_level(logging.DEBUG, logger="oauth_cc.client"), \
            pytest.raises(TokenError) as caught:
        tokens.get_token()

    assertion = sent_assertion(stub.requests[0])
    shown = [repr(tokens), str(tokens), str(caught.value), repr(caught.value), caplog.text,
             repr(requests_adapter.TokenAuth(tokens)), repr(httpx_adapter.TokenAuth(tokens)),
             repr(vars(tokens)), shown_in_report(caught.value)]
    assert "client-1" in repr(tokens) and "private_key_jwt" in repr(tokens)
    assert not key_shown(key, *shown)
    # The assertion is a credential too, for its minute: the echoed one is redacted.
    assert "[redacted]" in str(caught.value)
    assert not [text for text in shown if assertion in text]


@pytest.mark.parametrize("failure", ["refused", "reset", "not-json", "unforeseen",
                                     "unreachable"])
def test_no_exception_from_get_token_shows_the_key(
        stub: Stub, keys: dict[str, Key], monkeypatch: pytest.MonkeyPatch,
        failure: str) -> None:
    key = keys["ed25519"]
    routes: dict[str, Callable[[Recorded], Reply]] = {
        "refused": echo,
        "reset": lambda request: (200, {"Content-Length": "999"}, b"{"),
        "not-json": lambda request: (200, {"Content-Type": "application/json"}, b"{not"),
    }
    if failure in routes:
        stub.routes["/token"] = routes[failure]
    if failure == "unforeseen":
        monkeypatch.setattr(http.client.HTTPConnection, "getresponse", unforeseen)
    url = "http://127.0.0.1:9/token" if failure == "unreachable" else stub.url + "/token"
    tokens = TokenClient(url, "client-1", private_key=key.pem, timeout=1)

    with pytest.raises((TokenError, RuntimeError)) as caught:
        tokens.get_token()

    assert isinstance(caught.value, RuntimeError) == (failure == "unforeseen")
    assert not key_shown(key, shown_in_report(caught.value))


def test_a_failure_while_signing_keeps_no_frame_with_the_key(
        stub: Stub, keys: dict[str, Key], monkeypatch: pytest.MonkeyPatch) -> None:
    key = keys["rsa"]
    tokens = key_client(stub, key.pem)
    monkeypatch.setattr(jwt, "encode", unforeseen)

    with pytest.raises(RuntimeError) as caught:
        tokens.get_token()

    assert not key_shown(key, shown_in_report(caught.value))
    assert not stub.requests


# --- the adapters, unchanged -----------------------------------------------------------------

@pytest.mark.parametrize("kind", ADAPTERS)
def test_adapters_retry_once_with_a_new_assertion_and_token(
        stub: Stub, api: Callable[[Reply], list[str]], keys: dict[str, Key],
        kind: str) -> None:
    api(reply(400, SEED_1024)).append("token-2")

    assert send(kind, key_client(stub, keys["ec"].key), "GET", stub.url + "/api") == (200, [400])

    token_requests = stub.at("/token")
    assert len(token_requests) == 2
    assert sent_assertion(token_requests[0]) != sent_assertion(token_requests[1])


# --- against the real token endpoint ---------------------------------------------------------

@pytest.fixture
def secretless(scopes: Any, keys: dict[str, Key], live_server: LiveServer) -> Iterator[Client]:
    """A private_key_jwt client allowed "address", its JWK Set holding the RSA key as "k1".

    ``ISSUER`` is the live server's URL meanwhile: an assertion's ``aud`` is the token URL
    the client is given, which the server must recognise as its own."""
    with override_settings(OAUTH_CC={"ISSUER": live_server.url}):
        yield Client.objects.create_secretless_client(
            "secretless", scopes=["address"], jwks=public_jwk_set(keys["rsa"].key, "k1"))


def base64url_json(segment: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "==="))
    return document


@pytest.mark.parametrize("key_id", ["k1", None])
def test_gets_a_token_from_the_token_endpoint(
        token_url: str, secretless: Client, keys: dict[str, Key],
        issued: list[dict[str, Any]], key_id: str | None) -> None:
    tokens = TokenClient(token_url, secretless.client_id, private_key=keys["rsa"].pem,
                         key_id=key_id, scope="address")

    token = tokens.get_token()

    claims = base64url_json(token.split(".")[1])
    assert (claims["client_id"], claims["scope"]) == (secretless.client_id, "address")
    assert [event["jti"] for event in issued] == [claims["jti"]]
    tokens.invalidate()
    assert tokens.get_token() != token  # a second assertion, a second jti: accepted too
    assert len(issued) == 2


@pytest.mark.parametrize(("case", "error", "status"), [
    ("another key", "invalid_client", 401),
    ("unknown kid", "invalid_client", 401),
    ("scope not allowed", "invalid_scope", 400),
])
def test_server_errors_are_token_errors_without_the_key(
        token_url: str, secretless: Client, keys: dict[str, Key],
        caplog: pytest.LogCaptureFixture, case: str, error: str, status: int) -> None:
    key = keys["other-rsa"] if case == "another key" else keys["rsa"]
    tokens = TokenClient(token_url, secretless.client_id, private_key=key.key,
                         key_id="k2" if case == "unknown kid" else "k1",
                         scope="phone" if case == "scope not allowed" else None)

    with caplog.at_level(logging.DEBUG), pytest.raises(TokenError) as caught:
        tokens.get_token()

    assert (caught.value.error, caught.value.status) == (error, status)
    assert caught.value.error_description
    assert not key_shown(key, repr(tokens), str(caught.value), caplog.text,
                         shown_in_report(caught.value))


@pytest.mark.parametrize("kind", ADAPTERS)
def test_adapters_call_the_api_with_a_secretless_clients_token(
        live_server: LiveServer, token_url: str, secretless: Client, keys: dict[str, Key],
        issued: list[dict[str, Any]], kind: str) -> None:
    tokens = TokenClient(token_url, secretless.client_id, private_key=keys["rsa"].key,
                         key_id="k1")
    assert send(kind, tokens, "GET", live_server.url + "/api/address") == (200, [])
    assert len(issued) == 1


def test_a_secret_is_refused_for_a_secretless_client(token_url: str,
                                                     secretless: Client) -> None:
    with pytest.raises(TokenError) as caught:
        TokenClient(token_url, secretless.client_id, "any-secret").get_token()
    assert (caught.value.error, caught.value.status) == ("invalid_client", 401)
