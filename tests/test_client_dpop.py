"""``TokenClient(..., dpop=True)`` and the adapters' DPoP (RFC 9449, CONTRACT.md §12) on the
consumer side.

First against the scripted server of ``test_client.py`` (what goes on the wire: the proofs,
their claims, a fresh ``jti`` each time; a server that ignores DPoP; nonce challenges), then
against the real token endpoint and a protected API over HTTP on loopback.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from django.test import override_settings
from pytest_django.live_server_helper import LiveServer

from oauth_cc import dpop
from oauth_cc.client import TokenClient, TokenError
from oauth_cc.client import httpx as httpx_adapter
from oauth_cc.client import requests as requests_adapter
from oauth_cc.client.dpop import ProofKey
from oauth_cc.models import Client
from tests.test_client import ADAPTERS, SECRET, Recorded, Reply, Stub, reply, send, stub
from tests.test_client_live import issued, token_url

__all__ = ["issued", "stub", "token_url"]  # fixtures

DPOP_CHALLENGE = {"WWW-Authenticate": 'DPoP realm="api", error="invalid_token", '
                                      'error_description="The token is revoked.", algs="ES256"'}
NONCE_CHALLENGE = {"WWW-Authenticate": 'DPoP error="use_dpop_nonce", error_description='
                                       '"Resource server requires nonce in DPoP proof"',
                   "DPoP-Nonce": "eyJ7S_zG.eyJH0-Z.HX4w-7v"}


def dpop_client(stub: Stub, **kwargs: Any) -> TokenClient:
    return TokenClient(stub.url + "/token", "client-1", SECRET, dpop=True, **kwargs)


def dpop_tokens(stub: Stub) -> None:
    """The scripted token endpoint answers DPoP tokens: token-1, token-2, ..."""
    def answer(request: Recorded) -> Reply:
        return reply(200, {"access_token": f"token-{next(stub.issued)}", "token_type": "DPoP",
                           "expires_in": 900})
    stub.routes["/token"] = answer


def dpop_header(request: Recorded) -> str:
    """The ``DPoP`` header as recorded (urllib sends it as ``Dpop``: names are case-blind)."""
    return next(value for name, value in request.headers.items() if name.lower() == "dpop")


def proof_parts(proof: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of ``proof``, its signature verified with its own ``jwk``."""
    header = jwt.get_unverified_header(proof)
    key = jwt.PyJWK(header["jwk"], algorithm="ES256").key
    claims = jwt.decode(proof, key, algorithms=["ES256"], options={"verify_aud": False})
    return header, claims


def private_forms(tokens: TokenClient) -> list[str]:
    """Every form in which the client's DPoP private key must never be shown."""
    key = tokens._proof_key._key  # type: ignore[union-attr]
    d = key.private_numbers().private_value.to_bytes(32, "big")
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return [base64.urlsafe_b64encode(d).rstrip(b"=").decode(), d.hex(), str(
        key.private_numbers().private_value), *pem.splitlines()[1:-1]]


# --- on the wire -----------------------------------------------------------------------------

def test_each_token_request_carries_a_fresh_proof_of_one_key(stub: Stub) -> None:
    dpop_tokens(stub)
    tokens = dpop_client(stub, scope="address")
    assert tokens.token_type == "DPoP"
    assert tokens.get_token() == "token-1"
    tokens.invalidate()
    assert tokens.get_token() == "token-2"

    proofs = [dpop_header(r) for r in stub.at("/token")]
    parts = [proof_parts(proof) for proof in proofs]
    for header, claims in parts:
        assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256"
        assert set(header["jwk"]) == {"kty", "crv", "x", "y"}  # public members only
        assert (claims["htm"], claims["htu"]) == ("POST", stub.url + "/token")
        assert "ath" not in claims
    assert parts[0][0]["jwk"] == parts[1][0]["jwk"]  # one key for the client's life
    assert parts[0][1]["jti"] != parts[1][1]["jti"]
    jwk = parts[0][0]["jwk"]
    assert tokens.dpop_jkt == dpop.jwk_thumbprint(jwt.PyJWK(jwk, algorithm="ES256").key)


def test_a_bearer_answer_to_a_dpop_request_is_a_clear_error(stub: Stub) -> None:
    """RFC 9449 §5: the client checks token_type; a server that ignored the proof issued a
    token anybody holding it can use."""
    tokens = dpop_client(stub)  # the scripted endpoint answers Bearer tokens
    with pytest.raises(TokenError) as caught:
        tokens.get_token()
    assert caught.value.error == "invalid_response"
    assert "Bearer token, not a DPoP-bound one" in str(caught.value)


def test_a_client_without_dpop_sends_no_proof_and_refuses_dpop_tokens(stub: Stub) -> None:
    tokens = TokenClient(stub.url + "/token", "client-1", SECRET)
    assert tokens.get_token() == "token-1"
    assert "dpop" not in {name.lower() for name in stub.at("/token")[0].headers}
    assert tokens.dpop_jkt is None
    with pytest.raises(ValueError, match="dpop=True"):
        tokens.dpop_proof("GET", stub.url + "/api", "token-1")
    dpop_tokens(stub)
    tokens.invalidate()
    with pytest.raises(TokenError, match="not for a Bearer token"):
        tokens.get_token()


def api_answers(stub: Stub, answer: Callable[[Recorded], Reply]) -> None:
    stub.routes["/api"] = answer


@pytest.mark.parametrize("kind", ADAPTERS)
def test_adapters_send_the_token_with_a_fresh_proof_per_request(stub: Stub, kind: str) -> None:
    dpop_tokens(stub)
    api_answers(stub, lambda request: reply(200, {"success": True}))
    tokens = dpop_client(stub)
    url = stub.url + "/api?q=274+Harb#top"

    assert send(kind, tokens, "GET", url) == (200, [])
    assert send(kind, tokens, "POST", url, data={"q": "274"}) == (200, [])

    calls = stub.at("/api")
    assert [call.headers["Authorization"] for call in calls] == ["DPoP token-1"] * 2
    claims = [proof_parts(dpop_header(call))[1] for call in calls]
    assert [(c["htm"], c["htu"]) for c in claims] == [("GET", stub.url + "/api"),
                                                        ("POST", stub.url + "/api")]
    assert {c["ath"] for c in claims} == {dpop.access_token_hash("token-1")}
    token_jti = proof_parts(dpop_header(stub.at("/token")[0]))[1]["jti"]
    assert len({token_jti, *(c["jti"] for c in claims)}) == 3


@pytest.mark.parametrize("kind", ADAPTERS)
def test_adapters_retry_once_after_a_dpop_invalid_token_challenge(stub: Stub,
                                                                  kind: str) -> None:
    dpop_tokens(stub)

    def answer(request: Recorded) -> Reply:
        if request.headers["Authorization"] == "DPoP token-2":
            return reply(200, {"success": True})
        return reply(401, {"error": "invalid_token"}, DPOP_CHALLENGE)

    api_answers(stub, answer)
    assert send(kind, dpop_client(stub), "GET", stub.url + "/api") == (200, [401])
    first, retried = stub.at("/api")
    assert proof_parts(dpop_header(retried))[1]["ath"] == dpop.access_token_hash("token-2")
    assert dpop_header(first) != dpop_header(retried)


@pytest.mark.parametrize("kind", ADAPTERS)
def test_a_nonce_challenge_is_returned_as_it_is(stub: Stub, kind: str) -> None:
    """RFC 9449 §9: retrying with the server's nonce is not done; the answer is the caller's,
    and a new token would not help, so none is fetched."""
    dpop_tokens(stub)
    api_answers(stub, lambda request: reply(401, {"error": "use_dpop_nonce"}, NONCE_CHALLENGE))
    tokens = dpop_client(stub)
    assert send(kind, tokens, "GET", stub.url + "/api") == (401, [])
    assert len(stub.at("/token")) == 1


def test_a_nonce_demand_at_the_token_endpoint_is_a_token_error(stub: Stub) -> None:
    stub.routes["/token"] = lambda request: reply(
        400, {"error": "use_dpop_nonce", "error_description": "Authorization server requires "
              "nonce in DPoP proof"}, {"DPoP-Nonce": "eyJ7S_zG.eyJH0-Z.HX4w-7v"})
    with pytest.raises(TokenError) as caught:
        dpop_client(stub).get_token()
    assert (caught.value.error, caught.value.status) == ("use_dpop_nonce", 400)


def test_the_private_key_is_never_shown(stub: Stub) -> None:
    stub.routes["/token"] = lambda request: reply(400, {"error": "invalid_dpop_proof"})
    tokens = dpop_client(stub)
    with pytest.raises(TokenError) as caught:
        tokens.get_token()
    proof = dpop_header(stub.at("/token")[0])
    shown = " ".join([repr(tokens), str(tokens), repr(tokens._proof_key), str(caught.value),
                      repr(caught.value), repr(requests_adapter.TokenAuth(tokens)),
                      repr(httpx_adapter.TokenAuth(tokens)), proof,
                      json.dumps(jwt.get_unverified_header(proof))])
    assert "dpop=True" in repr(tokens)
    for form in private_forms(tokens):
        assert form not in shown
    assert "d" not in tokens._proof_key.public_jwk  # type: ignore[union-attr]


def test_proof_key_thumbprint_is_rfc_7638() -> None:
    key = ProofKey()
    jwk = key.public_jwk
    canonical = json.dumps({name: jwk[name] for name in ("crv", "kty", "x", "y")},
                           separators=(",", ":")).encode()
    expected = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=")
    assert key.jkt == expected.decode() == dpop.jwk_thumbprint(jwt.PyJWK(
        jwk, algorithm="ES256").key)
    assert ProofKey().jkt != key.jkt


def test_dpop_must_be_a_bool(stub: Stub) -> None:
    with pytest.raises(ValueError, match="dpop must be True or False"):
        TokenClient(stub.url + "/token", "client-1", SECRET, dpop="yes")  # type: ignore[arg-type]


# --- against the real token endpoint and API ---------------------------------------------------

def test_the_token_endpoint_binds_the_token_to_the_clients_key(
    token_url: str, oauth_client: tuple[Client, str], issued: list[dict[str, Any]],
) -> None:
    client, secret = oauth_client
    tokens = TokenClient(token_url, client.client_id, secret, scope="address", dpop=True)
    token = tokens.get_token()
    claims = jwt.decode(token, options={"verify_signature": False})
    public = tokens._proof_key._key.public_key()  # type: ignore[union-attr]
    assert claims["cnf"] == {"jkt": dpop.jwk_thumbprint(public)} == {"jkt": tokens.dpop_jkt}
    assert len(issued) == 1


def test_a_client_that_must_use_dpop_gets_tokens_with_dpop_only(
    token_url: str, make_client: Callable[..., tuple[Client, str]],
) -> None:
    client, secret = make_client(require_dpop=True)
    with pytest.raises(TokenError, match="invalid_dpop_proof"):
        TokenClient(token_url, client.client_id, secret).get_token()
    assert TokenClient(token_url, client.client_id, secret, dpop=True).get_token()


@pytest.mark.parametrize("kind", ADAPTERS)
def test_adapters_call_the_api_with_a_dpop_token(
    live_server: LiveServer, token_url: str, oauth_client: tuple[Client, str],
    issued: list[dict[str, Any]], kind: str,
) -> None:
    client, secret = oauth_client
    tokens = TokenClient(token_url, client.client_id, secret, scope="address", dpop=True)
    api = live_server.url + "/api/address"

    # A second request with the same token needs a new proof: a replayed jti is refused.
    assert send(kind, tokens, "GET", api + "?q=274") == (200, [])
    assert send(kind, tokens, "GET", api) == (200, [])
    assert len(issued) == 1

    # Stolen: the token without the proof, or as a bearer token, is refused.
    token = tokens.get_token()
    assert requests.get(api, headers={"Authorization": f"DPoP {token}"},
                        timeout=5).status_code == 401
    assert requests.get(api, headers={"Authorization": f"Bearer {token}"},
                        timeout=5).status_code == 401


@pytest.mark.parametrize("kind", ADAPTERS)
def test_adapters_get_a_new_bound_token_when_the_api_rejects_the_old_one(
    live_server: LiveServer, token_url: str, oauth_client: tuple[Client, str],
    issued: list[dict[str, Any]], kind: str,
) -> None:
    client, secret = oauth_client
    tokens = TokenClient(token_url, client.client_id, secret, scope="address", dpop=True)
    api = live_server.url + "/api/address"
    with override_settings(OAUTH_CC={"ISSUER": "https://issuer.test"}):
        assert send(kind, tokens, "GET", api) == (200, [])
        revoked = requests.post(live_server.url + "/oauth/revoke", timeout=5,
                                data={"token": tokens.get_token()},
                                auth=(client.client_id, secret))
        assert revoked.status_code == 200

        assert send(kind, tokens, "GET", api) == (200, [401])  # DPoP error="invalid_token"
    assert len(issued) == 2


@pytest.mark.parametrize("kind", ADAPTERS)
def test_adapters_sign_a_new_proof_for_a_redirected_request(
    live_server: LiveServer, token_url: str, oauth_client: tuple[Client, str],
    issued: list[dict[str, Any]], kind: str,
) -> None:
    """A proof names one URL (htu): the one made for the URL that answered with a redirect is
    no proof for where it points, and its jti is used up. The adapters sign a new one for the
    new URL, with the same token."""
    client, secret = oauth_client
    tokens = TokenClient(token_url, client.client_id, secret, scope="address", dpop=True)
    follow = {"allow_redirects": True} if kind == "requests" else {"follow_redirects": True}
    status, history = send(kind, tokens, "GET", live_server.url + "/api/moved", **follow)
    # requests: [301] then the new URL refused without a proof and sent again with one;
    # httpx: the new URL refused with the old proof, then sent again with its own.
    assert status == 200, history
    assert len(issued) == 1  # the token was good: no new one for a redirect
