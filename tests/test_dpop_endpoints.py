"""DPoP (RFC 9449) end to end in one process: the token endpoint binds tokens, the API checks
them (also in remote mode and as the demo renders errors), introspection shows the binding,
revocation revokes bound tokens; from the attacker's side as well as the client's.

Proofs come from ``tests.test_dpop.Prover`` (PyJWT); the clock is frozen at ``T0``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client as HttpClient
from django.test import override_settings

from oauth_cc import dpop
from oauth_cc.keyring import key_ring
from oauth_cc.models import Client
from oauth_cc.tokens import mint_access_token
from tests.conftest import T0
from tests.helpers import post_form, unverified
from tests.test_dpop import Prover
from tests.test_remote_jwks import JWKSServer

pytestmark = pytest.mark.django_db

ISSUER = "https://issuer.test"
TOKEN_URL = "http://testserver/oauth/token"  # as the test client's requests reach it
PUBLISHED_TOKEN_URL = ISSUER + "/oauth/token"  # as the metadata names it
API = "/api/address"
API_URL = "http://testserver/api/address"
ALGS = 'algs="ES256 RS256 PS256 EdDSA"'


@pytest.fixture(autouse=True)
def _frozen(frozen_clock: Any) -> None:
    """Every proof and token here is made and checked at T0."""


def token_request(http: HttpClient, client: Client, secret: str, *proofs: str,
                  **params: str) -> Any:
    headers = {"HTTP_DPOP": ",".join(proofs)} if proofs else {}
    return post_form(http, "/oauth/token",
                     {"grant_type": "client_credentials", "client_id": client.client_id,
                      "client_secret": secret, **params}, **headers)


def bound_token(http: HttpClient, client: Client, secret: str, prover: Prover) -> str:
    response = token_request(http, client, secret, prover.proof("POST", TOKEN_URL))
    assert response.status_code == 200, response.content
    token: str = response.json()["access_token"]
    return token


def call(http: HttpClient, token: str, proof: str | None = None, *, scheme: str = "DPoP",
         path: str = API, **headers: str) -> Any:
    if proof is not None:
        headers["HTTP_DPOP"] = proof
    return http.get(path, HTTP_AUTHORIZATION=f"{scheme} {token}", **headers)


def assert_dpop_refusal(response: Any) -> str:
    """401 invalid_token with a DPoP challenge (RFC 9449 §7.1); returns the description."""
    assert response.status_code == 401, response.content
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('DPoP realm="api", error="invalid_token", error_description="')
    assert challenge.endswith(ALGS)
    body = response.json()
    assert (body["error"], body["error_code"]) == ("invalid_token", "1024")
    assert f'error_description="{body["error_description"]}"' in challenge
    description: str = body["error_description"]
    return description


# The token endpoint (RFC 9449 §5)


@pytest.mark.parametrize(("kind", "alg"), [("ec", "ES256"), ("rsa", "RS256"),
                                           ("rsa", "PS256"), ("ed25519", "EdDSA")])
def test_a_token_request_with_a_proof_gets_a_bound_dpop_token(http, oauth_client, kind, alg):
    client, secret = oauth_client
    prover = Prover(kind, alg)
    response = token_request(http, client, secret, prover.proof("POST", TOKEN_URL))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "DPoP"
    header, claims = unverified(body["access_token"])
    assert header["typ"] == "at+jwt"
    assert claims["cnf"] == {"jkt": prover.jkt}
    assert response["Cache-Control"] == "no-store"


def test_the_audit_trail_says_a_token_is_bound(http, oauth_client):
    from oauth_cc import audit

    client, secret = oauth_client
    types: list[str] = []

    def receiver(sender: Any, **fields: Any) -> None:
        types.append(fields["token_type"])

    audit.token_issued.connect(receiver)
    try:
        token_request(http, client, secret, Prover().proof("POST", TOKEN_URL))
        token_request(http, client, secret)
    finally:
        audit.token_issued.disconnect(receiver)
    assert types == ["DPoP", "Bearer"]


def test_without_a_proof_the_token_is_a_bearer_token(http, oauth_client):
    client, secret = oauth_client
    body = token_request(http, client, secret).json()
    assert body["token_type"] == "Bearer"
    assert "cnf" not in unverified(body["access_token"])[1]


def test_the_published_token_endpoint_url_is_accepted_as_htu(http, oauth_client):
    """A client that discovered us signs the metadata's token_endpoint, which a proxy that
    Django's settings do not describe may reach under another URL."""
    client, secret = oauth_client
    response = token_request(http, client, secret, Prover().proof("POST", PUBLISHED_TOKEN_URL))
    assert response.json()["token_type"] == "DPoP"


def refused_at_token_endpoint(response: Any) -> str:
    assert response.status_code == 400, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == "invalid_dpop_proof"
    description: str = body["error_description"]
    return description


@pytest.mark.parametrize(("make", "expected"), [
    (lambda p: p.proof("POST", ISSUER + "/oauth/introspect"), "htu is not this request's URL"),
    (lambda p: p.proof("GET", TOKEN_URL), "htm is not this request's method, POST"),
    (lambda p: p.proof("POST", TOKEN_URL, iat=T0 - 61), "stale"),
    (lambda p: p.proof("POST", TOKEN_URL, iat=T0 + 61), "in the future"),
    (lambda p: p.proof("POST", TOKEN_URL, header={"typ": "JWT"}), "typ must be dpop+jwt"),
    (lambda p: p.proof("POST", TOKEN_URL, drop=["jti"]), "no jti claim"),
    (lambda p: p.proof("POST", TOKEN_URL, header={"jwk": {**p.jwk, "d": "AAAA"}}),
     "private or symmetric key members (d)"),
    (lambda p: "not-a-jwt", "form is not that of a signed JWT"),
    # Both were 500s: an int no float holds, and a jti that cannot be hashed as UTF-8.
    (lambda p: p.proof("POST", TOKEN_URL, iat=10**400), "iat claim is not a time"),
    (lambda p: p.proof("POST", TOKEN_URL, jti="\ud800"), "not Unicode"),
])
def test_a_bad_proof_is_invalid_dpop_proof_with_a_specific_description(
        http, oauth_client, make, expected):
    client, secret = oauth_client
    response = token_request(http, client, secret, make(Prover()))
    assert expected in refused_at_token_endpoint(response)


def test_a_proof_is_accepted_once_at_the_token_endpoint(http, oauth_client):
    client, secret = oauth_client
    proof = Prover().proof("POST", TOKEN_URL)
    assert token_request(http, client, secret, proof).status_code == 200
    assert "used before" in refused_at_token_endpoint(token_request(http, client, secret,
                                                                    proof))


def test_two_dpop_headers_are_refused(http, oauth_client):
    client, secret = oauth_client
    prover = Prover()
    response = token_request(http, client, secret, prover.proof("POST", TOKEN_URL),
                             prover.proof("POST", TOKEN_URL))
    assert "more than one DPoP header" in refused_at_token_endpoint(response)


def test_a_client_that_requires_dpop_is_refused_a_token_without_a_proof(http, make_client):
    client, secret = make_client(require_dpop=True)
    response = token_request(http, client, secret)
    assert "must send a DPoP proof" in refused_at_token_endpoint(response)
    assert token_request(http, client, secret, Prover().proof("POST", TOKEN_URL)).json()[
        "token_type"] == "DPoP"


def test_turning_require_dpop_on_applies_at_once(http, oauth_client):
    """Saved with save(), as the admin does: post_save drops this worker's cached record."""
    client, secret = oauth_client
    assert token_request(http, client, secret).status_code == 200  # the record is cached now
    client.require_dpop = True
    client.save(update_fields=["require_dpop"])
    assert "must send a DPoP proof" in refused_at_token_endpoint(
        token_request(http, client, secret))


def test_a_secretless_client_can_require_dpop(scopes):
    from tests.test_dpop import public_jwk

    key = Prover("ec", fresh=True).key
    client = Client.objects.create_secretless_client(
        "keyed", scopes=["address"], jwks={"keys": [public_jwk(key)]}, require_dpop=True)
    assert Client.objects.record(client.client_id).require_dpop is True


def test_client_authentication_and_scope_answer_before_the_proof(http, oauth_client):
    """The contract's order, DPoP last: and a proof of a refused request is not used up."""
    client, secret = oauth_client
    proof = Prover().proof("POST", TOKEN_URL)
    assert token_request(http, client, "wrong", proof).json()["error"] == "invalid_client"
    assert token_request(http, client, secret, proof, scope="email").json()["error"] == \
        "invalid_scope"
    assert token_request(http, client, secret, proof).json()["token_type"] == "DPoP"


def test_mint_access_token_binds_to_a_jkt():
    issued = mint_access_token(client_id="c", project_id=1, scopes=["address"], jkt="abc")
    assert unverified(issued.access_token)[1]["cnf"] == {"jkt": "abc"}
    assert issued.response_body()["token_type"] == "DPoP"
    plain = mint_access_token(client_id="c", project_id=1, scopes=["address"])
    assert plain.response_body()["token_type"] == "Bearer"
    assert "cnf" not in unverified(plain.access_token)[1]


# The API (RFC 9449 §7)


@pytest.fixture
def client_and_prover(http: HttpClient, oauth_client: tuple[Client, str]
                      ) -> tuple[Client, str, Prover, str]:
    client, secret = oauth_client
    prover = Prover()
    return client, secret, prover, bound_token(http, client, secret, prover)


def test_a_bound_token_with_its_proof_is_accepted(http, client_and_prover):
    client, _, prover, token = client_and_prover
    response = call(http, token, prover.proof("GET", API_URL, access_token=token))
    assert response.status_code == 200, response.content
    assert response.json()["client_id"] == client.client_id


def test_the_scheme_is_case_insensitive(http, client_and_prover):
    _, _, prover, token = client_and_prover
    proof = prover.proof("GET", API_URL, access_token=token)
    assert call(http, token, proof, scheme="dpop").status_code == 200


def test_every_request_needs_a_fresh_proof_though_the_token_is_cached(http, client_and_prover):
    _, _, prover, token = client_and_prover
    proof = prover.proof("GET", API_URL, access_token=token)
    assert call(http, token, proof).status_code == 200
    assert "used before" in assert_dpop_refusal(call(http, token, proof))
    assert call(http, token, prover.proof("GET", API_URL, access_token=token)).status_code == 200


def test_a_stolen_bound_token_sent_as_bearer_is_refused(http, client_and_prover):
    _, _, _, token = client_and_prover
    description = assert_dpop_refusal(call(http, token, scheme="Bearer"))
    assert "bound to a key" in description


def test_a_stolen_bound_token_with_the_thiefs_own_proof_is_refused(http, client_and_prover):
    _, _, _, token = client_and_prover
    thief = Prover("ec", fresh=True)
    response = call(http, token, thief.proof("GET", API_URL, access_token=token))
    assert "other than the one the access token is bound to" in assert_dpop_refusal(response)


def test_a_proof_signed_by_another_key_than_its_jwk_is_refused(http, client_and_prover):
    _, _, prover, token = client_and_prover
    thief = Prover("ec", fresh=True)
    proof = prover.proof("GET", API_URL, access_token=token, key=thief.key)
    assert "does not verify with its jwk" in assert_dpop_refusal(call(http, token, proof))


def test_a_bound_token_without_a_proof_is_refused(http, client_and_prover):
    _, _, _, token = client_and_prover
    assert "needs a DPoP proof" in assert_dpop_refusal(call(http, token))


@pytest.mark.parametrize(("make", "expected"), [
    (lambda p, t: p.proof("GET", "http://testserver/api/phone", access_token=t), "htu"),
    (lambda p, t: p.proof("POST", API_URL, access_token=t), "htm"),
    (lambda p, t: p.proof("GET", API_URL), "no ath claim"),
    (lambda p, t: p.proof("GET", API_URL, access_token=t + "x"), "ath is not the hash"),
    (lambda p, t: p.proof("GET", API_URL, access_token=t, iat=T0 - 61), "stale"),
    (lambda p, t: p.proof("GET", API_URL, access_token=t, iat=T0 + 61), "future"),
    (lambda p, t: p.proof("GET", API_URL, access_token=t, header={"typ": "at+jwt"}), "typ"),
    (lambda p, t: p.proof("GET", API_URL, access_token=t, drop=["jti"]), "jti"),
    (lambda p, t: p.proof("GET", API_URL, access_token=t, iat=10**400), "iat"),
    (lambda p, t: p.proof("GET", API_URL, access_token=t, jti="\udfff"), "not Unicode"),
])
def test_a_bad_proof_at_the_api_is_refused(http, client_and_prover, make, expected):
    _, _, prover, token = client_and_prover
    assert expected in assert_dpop_refusal(call(http, token, make(prover, token)))


def test_the_ath_of_another_token_of_the_same_client_and_key_is_refused(http,
                                                                        client_and_prover):
    client, secret, prover, token = client_and_prover
    other = bound_token(http, client, secret, prover)
    proof = prover.proof("GET", API_URL, access_token=other)
    assert "ath is not the hash" in assert_dpop_refusal(call(http, token, proof))


def test_two_dpop_headers_at_the_api_are_refused(http, client_and_prover):
    _, _, prover, token = client_and_prover
    proofs = ",".join(prover.proof("GET", API_URL, access_token=token) for _ in range(2))
    assert "more than one DPoP header" in assert_dpop_refusal(call(http, token, proofs))


def test_a_query_string_is_not_part_of_htu(http, client_and_prover):
    _, _, prover, token = client_and_prover
    response = call(http, token, prover.proof("GET", API_URL, access_token=token),
                    path=API + "?q=1")
    assert response.status_code == 200


def test_an_unbound_token_keeps_working_as_bearer(http, oauth_client):
    client, secret = oauth_client
    token = token_request(http, client, secret).json()["access_token"]
    assert call(http, token, scheme="Bearer").status_code == 200


def test_a_bound_token_without_a_required_scope_gets_a_dpop_insufficient_scope(
        http, make_client):
    """RFC 9449 §7.1: a request made with the DPoP scheme is answered with a DPoP challenge,
    insufficient_scope included, so that the client knows which scheme to retry with."""
    client, secret = make_client(("address", "email"))
    prover = Prover()
    token = bound_token(http, client, secret, prover)
    for path, scope in [("/api/phone", 'scope="phone", '), ("/api/not-email", "")]:
        response = call(http, token, prover.proof("GET", "http://testserver" + path,
                                                  access_token=token), path=path)
        assert response.status_code == 403, response.content
        challenge = response["WWW-Authenticate"]
        assert challenge.startswith('DPoP realm="api", error="insufficient_scope", ')
        assert challenge.endswith(scope + ALGS)
        assert response.json()["error"] == "insufficient_scope"


def test_an_unbound_token_with_the_dpop_scheme_is_refused(http, oauth_client):
    """RFC 9449 §7.1-7.2: the DPoP scheme is for DPoP-bound tokens, even with a valid proof."""
    client, secret = oauth_client
    token = token_request(http, client, secret).json()["access_token"]
    proof = Prover().proof("GET", API_URL, access_token=token)
    assert "not DPoP-bound" in assert_dpop_refusal(call(http, token, proof))


def test_an_invalid_token_with_the_dpop_scheme_gets_a_dpop_challenge(http):
    assert "The token" in assert_dpop_refusal(call(http, "a.b.c", Prover().proof()))
    assert "not 'DPoP <token>'" in assert_dpop_refusal(call(http, ""))


def test_a_disabled_clients_bound_token_is_refused(http, client_and_prover):
    client, _, prover, token = client_and_prover
    client.set_active(False)
    response = call(http, token, prover.proof("GET", API_URL, access_token=token))
    assert assert_dpop_refusal(response)


def test_no_query_with_a_warm_token_cache(http, client_and_prover, django_assert_num_queries):
    _, _, prover, token = client_and_prover
    assert call(http, token, prover.proof("GET", API_URL, access_token=token)).status_code == 200
    with django_assert_num_queries(0):
        response = call(http, token, prover.proof("GET", API_URL, access_token=token))
    assert response.status_code == 200


def test_the_cached_claims_keep_cnf_read_only(http, client_and_prover):
    from oauth_cc.acceptance import verify_access_token

    _, _, prover, token = client_and_prover
    call(http, token, prover.proof("GET", API_URL, access_token=token))  # cached now
    claims = verify_access_token(token).claims
    assert claims["cnf"]["jkt"] == prover.jkt
    with pytest.raises(TypeError):
        claims["cnf"]["jkt"] = "attacker"  # type: ignore[index]


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
                   USE_X_FORWARDED_HOST=True)
def test_behind_a_proxy_htu_is_the_url_the_client_called(http, client_and_prover):
    """Django's proxy settings decide the URL: the proof names what the client called."""
    _, _, prover, token = client_and_prover
    proxied = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_HOST": "api.example.com"}
    outside = "https://api.example.com/api/address"
    response = call(http, token, prover.proof("GET", outside, access_token=token), **proxied)
    assert response.status_code == 200, response.content
    inside = prover.proof("GET", API_URL, access_token=token)
    assert "htu" in assert_dpop_refusal(call(http, token, inside, **proxied))


def test_without_proxy_settings_forwarded_headers_do_not_change_the_url(http,
                                                                        client_and_prover):
    _, _, prover, token = client_and_prover
    forged = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_HOST": "api.example.com"}
    proof = prover.proof("GET", "https://api.example.com/api/address", access_token=token)
    assert "htu" in assert_dpop_refusal(call(http, token, proof, **forged))


# Remote mode: no database; the replay cache is the site's Django cache


@pytest.fixture
def remote(oauth_client: tuple[Client, str]) -> Iterator[tuple[Client, Prover, str]]:
    client, _ = oauth_client
    prover = Prover()
    key_ring.signing_key()
    issued = mint_access_token(client_id=client.client_id, project_id=client.project_id,
                               scopes=["address"], jkt=prover.jkt)
    server = JWKSServer()
    server.publish_issuer_keys()
    try:
        with override_settings(OAUTH_CC={"ISSUER": ISSUER, "JWKS_URL": server.url}):
            yield client, prover, issued.access_token
    finally:
        server.close()


def test_remote_mode_checks_proofs_without_a_query(http, remote, django_assert_num_queries):
    _, prover, token = remote
    assert call(http, token, prover.proof("GET", API_URL, access_token=token)).status_code == 200
    with django_assert_num_queries(0):
        proof = prover.proof("GET", API_URL, access_token=token)
        assert call(http, token, proof).status_code == 200
        assert "used before" in assert_dpop_refusal(call(http, token, proof))
        assert "bound to a key" in assert_dpop_refusal(call(http, token, scheme="Bearer"))


# Introspection (RFC 9449 §6.2) and revocation


def introspect(http: HttpClient, client: Client, secret: str, token: str) -> dict[str, Any]:
    response = post_form(http, "/oauth/introspect", {"token": token,
                                                     "client_id": client.client_id,
                                                     "client_secret": secret})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_introspection_shows_the_binding(http, client_and_prover):
    client, secret, prover, token = client_and_prover
    body = introspect(http, client, secret, token)
    assert body["active"] is True
    assert body["token_type"] == "DPoP"
    assert body["cnf"] == {"jkt": prover.jkt}
    # And once the token is in the verified-token cache, the same.
    call(http, token, prover.proof("GET", API_URL, access_token=token))
    assert introspect(http, client, secret, token)["cnf"] == {"jkt": prover.jkt}


def test_introspection_of_an_unbound_token_has_no_cnf(http, oauth_client):
    client, secret = oauth_client
    token = token_request(http, client, secret).json()["access_token"]
    body = introspect(http, client, secret, token)
    assert body["token_type"] == "Bearer"
    assert "cnf" not in body


def test_a_revoked_bound_token_is_refused_with_a_good_proof(http, client_and_prover):
    client, secret, prover, token = client_and_prover
    assert call(http, token, prover.proof("GET", API_URL, access_token=token)).status_code == 200
    response = post_form(http, "/oauth/revoke", {"token": token, "client_id": client.client_id,
                                                 "client_secret": secret})
    assert response.status_code == 200
    refused = call(http, token, prover.proof("GET", API_URL, access_token=token))
    assert "revoked" in assert_dpop_refusal(refused)
    assert introspect(http, client, secret, token) == {"active": False}


# The demo's error format (CONTRACT.md §7): every refusal is 1024


DEMO_API = "/api/au/address/autocomplete/"
SEED_1024 = {"completions": [], "message": "Invalid or expired bearer token",
             "error_code": "1024", "success": False}


@pytest.fixture
def demo() -> Iterator[None]:
    with override_settings(ROOT_URLCONF="demo_project.urls",
                           OAUTH_CC={"ISSUER": ISSUER,
                                     "ERROR_RENDERER": "demo_project.addresses.errors.seed_error"}):
        yield


def demo_call(http: HttpClient, token: str, proof: str | None = None, scheme: str = "DPoP"
              ) -> Any:
    headers = {"HTTP_DPOP": proof} if proof else {}
    return http.get(DEMO_API, {"q": "274 Harbour", "format": "json"},
                    HTTP_AUTHORIZATION=f"{scheme} {token}", **headers)


def test_the_demo_api_accepts_a_bound_token_with_its_proof(http, client_and_prover, demo):
    _, _, prover, token = client_and_prover
    proof = prover.proof("GET", "http://testserver" + DEMO_API, access_token=token)
    response = demo_call(http, token, proof)
    assert response.status_code == 200, response.content
    assert response.json()["success"] is True


def test_the_demo_renders_dpop_refusals_as_1024(http, client_and_prover, demo):
    _, _, prover, token = client_and_prover
    url = "http://testserver" + DEMO_API
    refusals = [
        demo_call(http, token, scheme="Bearer"),  # a stolen bound token sent as bearer
        demo_call(http, token),  # no proof
        demo_call(http, token, Prover("ec", fresh=True).proof("GET", url, access_token=token)),
        demo_call(http, token, prover.proof("GET", url)),  # no ath
    ]
    for response in refusals:
        assert (response.status_code, response.json()) == (400, SEED_1024)
        assert "WWW-Authenticate" not in response


# The command


def test_create_oauth_client_require_dpop(scopes):
    out = io.StringIO()
    call_command("create_oauth_client", "dpop client", "--scopes", "address", "--require-dpop",
                 "--json", stdout=out)
    printed = json.loads(out.getvalue())
    assert printed["require_dpop"] is True
    client = Client.objects.get(client_id=printed["client_id"])
    assert client.require_dpop is True
    assert Client.objects.record(client.client_id).require_dpop is True


def test_create_oauth_client_without_the_flag(scopes):
    out = io.StringIO()
    call_command("create_oauth_client", "plain", "--json", stdout=out)
    printed = json.loads(out.getvalue())
    assert set(printed) == {"client_id", "client_secret", "project"}
    assert Client.objects.get(client_id=printed["client_id"]).require_dpop is False


def test_create_oauth_client_says_dpop_is_required(scopes):
    out = io.StringIO()
    call_command("create_oauth_client", "dpop client", "--require-dpop", stdout=out)
    assert "dpop:          required" in out.getvalue()


def test_the_proof_checker_is_what_the_views_use():
    """One checker: the views and the authentication class call ``dpop.verify_proof``."""
    import oauth_cc.authentication
    import oauth_cc.views

    assert oauth_cc.views.dpop is dpop
    assert oauth_cc.authentication.dpop is dpop
