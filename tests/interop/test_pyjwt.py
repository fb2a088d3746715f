"""PyJWT's ``PyJWKClient`` verifies our tokens against the live JWKS (CONTRACT.md §8), and
client assertions that PyJWT signs (RS256, PS256, ES256, EdDSA) authenticate secretless
``private_key_jwt`` clients at the token endpoint (§11)."""

from __future__ import annotations

import io
import secrets
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
import requests
from django.core.management import call_command
from django.test import override_settings

from oauth_cc.client.private_key import ASSERTION_TYPE
from oauth_cc.models import Client
from tests.interop.claims import check_access_token, check_claims, check_header
from tests.interop.conftest import KeyedClient
from tests.interop.support import Issuer

pytestmark = pytest.mark.interop

PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def fetch_token(issuer: Issuer, client_id: str, secret: str, **form: str) -> dict[str, Any]:
    response = requests.post(issuer.token_url, auth=(client_id, secret),
                             data={"grant_type": "client_credentials", **form}, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def counting_jwk_client(url: str) -> tuple[jwt.PyJWKClient, list[int]]:
    """A ``PyJWKClient`` that counts its fetches of the JWK Set."""
    jwks_client = jwt.PyJWKClient(url, cache_keys=True)
    fetches: list[int] = []
    fetch = jwks_client.fetch_data

    def counted() -> Any:
        fetches.append(1)
        return fetch()

    jwks_client.fetch_data = counted  # type: ignore[method-assign]
    return jwks_client, fetches


def verify(jwks_client: jwt.PyJWKClient, token: str, *, issuer: str,
           audience: str) -> dict[str, Any]:
    signing_key = jwks_client.get_signing_key_from_jwt(token)
    assert signing_key.key_id == jwt.get_unverified_header(token)["kid"]
    claims: dict[str, Any] = jwt.decode(
        token, signing_key.key, algorithms=["RS256"], audience=audience, issuer=issuer,
        options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]})
    return claims


def test_jwks_document_is_public_keys_only(issuer: Issuer, oauth_client: tuple[Client, str]
                                           ) -> None:
    response = requests.get(issuer.jwks_url, timeout=10)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    keys = response.json()["keys"]
    assert len(keys) == 2  # the active key and the next one, published before it signs
    for key in keys:
        assert key["kty"] == "RSA"
        assert key["use"] == "sig"
        assert key["alg"] == "RS256"
        assert key["e"] == "AQAB"
        assert key["kid"]
        assert not PRIVATE_JWK_MEMBERS & key.keys()
        jwt.PyJWK(key)  # PyJWT accepts each one as a key


def test_pyjwkclient_verifies_issued_token(issuer: Issuer, oauth_client: tuple[Client, str]
                                           ) -> None:
    client, secret = oauth_client
    before = time.time()
    token = fetch_token(issuer, client.client_id, secret)["access_token"]
    jwks_client, fetches = counting_jwk_client(issuer.jwks_url)

    claims = verify(jwks_client, token, issuer=issuer.url, audience=issuer.audience)

    check_header(jwt.get_unverified_header(token))  # alg RS256, typ at+jwt, the active kid
    check_claims(claims, issuer=issuer.url, audience=issuer.audience, client=client,
                 scope="address phone", issued_after=before)
    assert fetches == [1]


def test_each_token_has_its_own_jti(issuer: Issuer, oauth_client: tuple[Client, str]) -> None:
    client, secret = oauth_client
    jwks_client = jwt.PyJWKClient(issuer.jwks_url)
    jtis = {verify(jwks_client, fetch_token(issuer, client.client_id, secret)["access_token"],
                   issuer=issuer.url, audience=issuer.audience)["jti"] for _ in range(3)}
    assert len(jtis) == 3


def test_pyjwt_checks_a_separate_audience(live_server: Any, make_client: Callable[..., Any]
                                          ) -> None:
    """With ``AUDIENCE`` set, ``aud`` is that value and PyJWT rejects the issuer as audience."""
    issuer = Issuer(live_server.url)
    audience = "https://api.example.test"
    with override_settings(OAUTH_CC={"ISSUER": issuer.url, "AUDIENCE": audience}):
        client, secret = make_client(("address",))
        token = fetch_token(issuer, client.client_id, secret)["access_token"]
        jwks_client = jwt.PyJWKClient(issuer.jwks_url)

        claims = verify(jwks_client, token, issuer=issuer.url, audience=audience)
        check_claims(claims, issuer=issuer.url, audience=audience, client=client,
                     scope="address")
        with pytest.raises(jwt.InvalidAudienceError):
            verify(jwks_client, token, issuer=issuer.url, audience=issuer.url)


def test_pyjwt_rejects_a_tampered_token(issuer: Issuer, oauth_client: tuple[Client, str]
                                        ) -> None:
    client, secret = oauth_client
    token = fetch_token(issuer, client.client_id, secret, scope="address")["access_token"]
    other = fetch_token(issuer, client.client_id, secret, scope="phone")["access_token"]
    header, _, signature = token.split(".")
    forged = ".".join([header, other.split(".")[1], signature])

    with pytest.raises(jwt.InvalidSignatureError):
        verify(jwt.PyJWKClient(issuer.jwks_url), forged, issuer=issuer.url,
               audience=issuer.audience)


def test_cached_jwks_verifies_tokens_after_rotation(issuer: Issuer,
                                                    oauth_client: tuple[Client, str]) -> None:
    """The ``next`` key is published before it signs: a verifier that fetched the JWK Set
    before ``rotate_signing_key`` verifies the new key's tokens without fetching again."""
    client, secret = oauth_client
    jwks_client, fetches = counting_jwk_client(issuer.jwks_url)
    old_token = fetch_token(issuer, client.client_id, secret)["access_token"]
    verify(jwks_client, old_token, issuer=issuer.url, audience=issuer.audience)

    out = io.StringIO()
    call_command("rotate_signing_key", stdout=out)
    new_token = fetch_token(issuer, client.client_id, secret)["access_token"]

    new_kid = jwt.get_unverified_header(new_token)["kid"]
    assert new_kid != jwt.get_unverified_header(old_token)["kid"]
    assert new_kid in out.getvalue()
    verify(jwks_client, new_token, issuer=issuer.url, audience=issuer.audience)
    verify(jwks_client, old_token, issuer=issuer.url, audience=issuer.audience)  # retired
    assert fetches == [1]


# Client assertions made with PyJWT (RFC 7523 §2.2, §3).

def pyjwt_assertion(keyed: KeyedClient, alg: str, audience: str | list[str], *,
                    lifetime: int = 300) -> str:
    """An assertion as a script would make it with PyJWT alone. (PyJWT calls Ed25519 signing
    ``EdDSA``; Authlib's test covers RFC 9864's ``Ed25519``.)"""
    now = int(time.time())
    claims = {"iss": keyed.client.client_id, "sub": keyed.client.client_id, "aud": audience,
              "iat": now, "exp": now + lifetime, "jti": secrets.token_urlsafe(16)}
    return jwt.encode(claims, keyed.key, algorithm=alg, headers={"kid": keyed.kid})


def post_assertion(issuer: Issuer, assertion: str, **form: str) -> requests.Response:
    return requests.post(issuer.token_url, timeout=10, data={
        "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion, **form})


@pytest.mark.parametrize(("kind", "alg"), [
    ("rsa", "RS256"), ("rsa", "PS256"), ("ec", "ES256"), ("ed25519", "EdDSA")])
@pytest.mark.parametrize("audience", ["token_url", "issuer", "list"])
def test_pyjwt_assertions_authenticate_a_secretless_client(
    issuer: Issuer, make_keyed_client: Callable[..., KeyedClient], kind: str, alg: str,
    audience: str,
) -> None:
    keyed = make_keyed_client(kind)
    aud: str | list[str] = {"token_url": issuer.token_url, "issuer": issuer.url,
                            "list": ["https://someone-else.test", issuer.token_url]}[audience]
    before = time.time()

    response = post_assertion(issuer, pyjwt_assertion(keyed, alg, aud),
                              client_id=keyed.client.client_id, scope="address")

    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    check_access_token(token, issuer=issuer.url, audience=issuer.audience, client=keyed.client,
                       scope="address", issued_after=before)
    claims = verify(jwt.PyJWKClient(issuer.jwks_url), token, issuer=issuer.url,
                    audience=issuer.audience)
    assert claims["client_id"] == keyed.client.client_id
    api = requests.get(issuer.url + "/api/address", timeout=10,
                       headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200, api.text


@pytest.mark.parametrize("case", ["replayed", "alg of another key type", "other client's key",
                                  "lifetime over an hour", "aud of another server"])
def test_pyjwt_assertions_the_server_refuses(
    issuer: Issuer, make_keyed_client: Callable[..., KeyedClient], case: str,
) -> None:
    keyed = make_keyed_client("rsa", alg="PS256")  # this key verifies PS256 only
    assertion = pyjwt_assertion(keyed, "PS256", issuer.token_url)
    if case == "replayed":
        assert post_assertion(issuer, assertion).status_code == 200
    elif case == "alg of another key type":
        assertion = pyjwt_assertion(keyed, "RS256", issuer.token_url)
    elif case == "other client's key":
        other = make_keyed_client("rsa")
        assertion = pyjwt_assertion(KeyedClient(keyed.client, other.key, keyed.kid), "PS256",
                                    issuer.token_url)
    elif case == "lifetime over an hour":
        assertion = pyjwt_assertion(keyed, "PS256", issuer.token_url, lifetime=7200)
    else:
        assertion = pyjwt_assertion(keyed, "PS256", "https://someone-else.test/oauth/token")

    response = post_assertion(issuer, assertion)

    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert response.json()["error_description"]
