"""POST /oauth/introspect (RFC 7662)."""

from __future__ import annotations

import pytest

from oauth_cc.models import Client, Scope
from oauth_cc.testing import mint_token
from tests.conftest import T0
from tests.helpers import basic, post_form

pytestmark = pytest.mark.django_db


def introspect(http, client_id, secret, token, via="post", **extra):
    data = {"token": token, **extra}
    if via == "basic":
        return post_form(http, "/oauth/introspect", data,
                         HTTP_AUTHORIZATION=basic(client_id, secret))
    return post_form(http, "/oauth/introspect",
                     {**data, "client_id": client_id, "client_secret": secret})


@pytest.mark.parametrize("via", ["post", "basic"])
def test_active_token_of_the_caller(http, oauth_client, frozen_clock, via):
    client, secret = oauth_client
    token = mint_token(client, ["address"], expires_in=60)
    response = introspect(http, client.client_id, secret, token, via=via)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body == {
        "active": True, "token_type": "Bearer", "scope": "address",
        "client_id": client.client_id, "sub": client.client_id, "aud": "https://issuer.test",
        "iss": "https://issuer.test", "exp": int(T0) + 60, "iat": int(T0), "nbf": int(T0),
        "jti": body["jti"], "project": str(client.project_id),
    }


def test_token_type_hint_is_accepted(http, oauth_client):
    client, secret = oauth_client
    response = introspect(http, client.client_id, secret, mint_token(client),
                          token_type_hint="access_token")
    assert response.json()["active"] is True


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 9000])
def test_garbage_is_inactive(http, oauth_client, token):
    client, secret = oauth_client
    assert introspect(http, client.client_id, secret, token).json() == {"active": False}


def test_expired_token_is_inactive(http, oauth_client, frozen_clock):
    """From its exp on, without the resource servers' LEEWAY_SECONDS: the issuer's clock is
    the one that decides (RFC 7662 §2.2)."""
    client, secret = oauth_client
    token = mint_token(client, expires_in=60)
    frozen_clock.advance(59)
    assert introspect(http, client.client_id, secret, token).json()["active"] is True
    frozen_clock.advance(1)
    assert introspect(http, client.client_id, secret, token).json() == {"active": False}


def test_revoked_token_is_inactive(http, oauth_client):
    client, secret = oauth_client
    token = mint_token(client)
    post_form(http, "/oauth/revoke", {"token": token, "client_id": client.client_id,
                                      "client_secret": secret})
    assert introspect(http, client.client_id, secret, token).json() == {"active": False}


def test_disabled_clients_token_is_inactive(http, make_client):
    inspector, secret = make_client(scope_names=("address", "introspection"))
    other, _ = make_client()
    token = mint_token(other)
    assert introspect(http, inspector.client_id, secret, token).json()["active"] is True
    other.is_active = False
    other.save()
    assert introspect(http, inspector.client_id, secret, token).json() == {"active": False}


def test_foreign_token_is_inactive(http, oauth_client):
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    client, secret = oauth_client
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    foreign = jwt.encode({"iss": "https://issuer.test", "aud": "https://issuer.test"}, key,
                         algorithm="RS256", headers={"typ": "at+jwt", "kid": "x"})
    assert introspect(http, client.client_id, secret, foreign).json() == {"active": False}


def test_another_clients_token_is_inactive_without_the_introspection_scope(http, make_client):
    caller, secret = make_client()
    other, _ = make_client()
    assert introspect(http, caller.client_id, secret, mint_token(other)).json() == \
        {"active": False}


def test_introspection_scope_sees_every_clients_tokens(http, make_client):
    inspector, secret = make_client(scope_names=("introspection",))
    other, _ = make_client()
    body = introspect(http, inspector.client_id, secret, mint_token(other)).json()
    assert body["active"] is True
    assert body["client_id"] == other.client_id


def test_introspection_is_never_granted_in_a_token(http, make_client):
    from tests.helpers import token_request

    client, secret = make_client(scope_names=("address", "introspection"))
    assert token_request(http, client.client_id, secret).json()["scope"] == "address"
    response = token_request(http, client.client_id, secret, scope="introspection")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert Scope.objects.filter(name="introspection").exists()


def test_caller_must_authenticate(http, oauth_client):
    client, _ = oauth_client
    token = mint_token(client)
    response = post_form(http, "/oauth/introspect", {"token": token})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    response = introspect(http, client.client_id, "wrong", token, via="basic")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("path", ["/oauth/introspect", "/oauth/revoke"])
def test_a_client_id_with_nul_is_an_unknown_client(http, oauth_client, path):
    client, secret = oauth_client
    response = post_form(http, path, {"token": mint_token(client)},
                         HTTP_AUTHORIZATION=basic(client.client_id + "%00", secret))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_missing_token_parameter(http, oauth_client):
    client, secret = oauth_client
    response = post_form(http, "/oauth/introspect", {"client_id": client.client_id,
                                                     "client_secret": secret})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_get_is_not_allowed(http):
    assert http.get("/oauth/introspect").status_code == 405


def test_disabled_caller_cannot_introspect(http, oauth_client):
    client, secret = oauth_client
    token = mint_token(client)
    Client.objects.filter(pk=client.pk).update(is_active=False)
    assert introspect(http, client.client_id, secret, token).status_code == 401
