"""POST /oauth/revoke (RFC 7009), and revoked tokens everywhere."""

from __future__ import annotations

import pytest

from oauth_cc import state
from oauth_cc.models import RevokedToken
from oauth_cc.testing import bearer, mint_token
from tests.helpers import basic, post_form

pytestmark = pytest.mark.django_db


def revoke(http, client_id, secret, token, via="post", **extra):
    data = {"token": token, **extra}
    if via == "basic":
        return post_form(http, "/oauth/revoke", data, HTTP_AUTHORIZATION=basic(client_id, secret))
    return post_form(http, "/oauth/revoke", {**data, "client_id": client_id,
                                             "client_secret": secret})


@pytest.mark.parametrize("via", ["post", "basic"])
def test_revoked_token_is_refused_at_once(http, oauth_client, via):
    client, secret = oauth_client
    token = mint_token(client)
    assert http.get("/api/address", headers=bearer(token)).status_code == 200
    response = revoke(http, client.client_id, secret, token, via=via)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    refused = http.get("/api/address", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.json()["error_code"] == "1024"
    assert "revoked" in refused.json()["error_description"]
    other = mint_token(client)
    assert http.get("/api/address", headers=bearer(other)).status_code == 200


def test_revocation_elsewhere_is_seen_within_state_ttl(http, oauth_client, frozen_clock,
                                                       django_assert_num_queries):
    import jwt

    client, _ = oauth_client
    token = mint_token(client)
    assert http.get("/api/address", headers=bearer(token)).status_code == 200
    claims = jwt.decode(token, options={"verify_signature": False})
    RevokedToken.objects.bulk_create([RevokedToken(  # bulk_create sends no signal: "elsewhere"
        jti=claims["jti"], client_id=client.client_id,
        expires_at=RevokedToken.objects.model._meta.get_field("expires_at").to_python(
            "2030-01-01T00:00:00Z"))])
    frozen_clock.advance(4.9)
    with django_assert_num_queries(0):
        assert http.get("/api/address", headers=bearer(token)).status_code == 200
    frozen_clock.advance(0.1)
    assert http.get("/api/address", headers=bearer(token)).status_code == 401
    with django_assert_num_queries(0):
        assert http.get("/api/address", headers=bearer(token)).status_code == 401


def test_a_reload_that_missed_a_local_revocation_does_not_undo_it(http, oauth_client,
                                                                   frozen_clock):
    """A worker thread that read the denylist just before this process's revocation committed
    must not bring the token back; the local revocation holds until the token's exp."""
    client, secret = oauth_client
    token = mint_token(client, expires_in=60)
    revoke(http, client.client_id, secret, token)
    RevokedToken.objects.all()._raw_delete(RevokedToken.objects.db)  # what that read saw
    frozen_clock.advance(5)  # a reload of the denylist
    assert http.get("/api/address", headers=bearer(token)).status_code == 401
    frozen_clock.advance(60 + 30)  # past exp and leeway
    assert http.get("/api/address", headers=bearer(token)).status_code == 401  # expired
    assert http.get("/api/address", headers=bearer(mint_token(client))).status_code == 200
    frozen_clock.advance(state.PURGE_INTERVAL_SECONDS)
    state.revocations.is_revoked("x")  # a reload drops what has expired, once a minute
    assert len(state.revocations.revoked) == 0


def test_token_type_hint_is_accepted_and_not_required(http, oauth_client):
    client, secret = oauth_client
    for hint in ("access_token", "refresh_token", "something_else"):
        response = revoke(http, client.client_id, secret, mint_token(client),
                          token_type_hint=hint)
        assert response.status_code == 200


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJ0eXAiOiJhdCtqd3QifQ.e30.e30"])
def test_invalid_tokens_answer_200(http, oauth_client, token):
    client, secret = oauth_client
    assert revoke(http, client.client_id, secret, token).status_code == 200
    assert not RevokedToken.objects.exists()


def test_expired_token_answers_200(http, oauth_client, frozen_clock):
    client, secret = oauth_client
    token = mint_token(client, expires_in=10)
    frozen_clock.advance(100)
    assert revoke(http, client.client_id, secret, token).status_code == 200


def test_revoking_twice_is_fine(http, oauth_client):
    client, secret = oauth_client
    token = mint_token(client)
    assert revoke(http, client.client_id, secret, token).status_code == 200
    assert revoke(http, client.client_id, secret, token).status_code == 200
    assert RevokedToken.objects.count() == 1


def test_another_clients_token_is_refused_and_stays_valid(http, make_client):
    caller, secret = make_client()
    owner, _ = make_client()
    token = mint_token(owner)
    response = revoke(http, caller.client_id, secret, token)
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    assert http.get("/api/address", headers=bearer(token)).status_code == 200
    assert not RevokedToken.objects.exists()


def test_caller_must_authenticate(http, oauth_client):
    client, _ = oauth_client
    token = mint_token(client)
    response = revoke(http, client.client_id, "wrong", token)
    assert response.status_code == 401
    assert http.get("/api/address", headers=bearer(token)).status_code == 200


def test_missing_token_parameter(http, oauth_client):
    client, secret = oauth_client
    response = post_form(http, "/oauth/revoke", {"client_id": client.client_id,
                                                 "client_secret": secret})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_denylist_entries_are_pruned_after_expiry(http, oauth_client, frozen_clock):
    client, secret = oauth_client
    revoke(http, client.client_id, secret, mint_token(client, expires_in=60))
    assert RevokedToken.objects.count() == 1
    frozen_clock.advance(60 + 30)
    revoke(http, client.client_id, secret, mint_token(client))
    assert RevokedToken.objects.count() == 1  # the first one was pruned
    assert RevokedToken.objects.prune() == 0


def test_metadata_lists_introspection_and_revocation(http, scopes):
    body = http.get("/.well-known/oauth-authorization-server").json()
    assert body["introspection_endpoint"] == "https://issuer.test/oauth/introspect"
    assert body["revocation_endpoint"] == "https://issuer.test/oauth/revoke"
    for name in ("introspection", "revocation"):
        assert body[f"{name}_endpoint_auth_methods_supported"] == [
            "client_secret_basic", "client_secret_post", "private_key_jwt"]
