"""oauth_cc.testing: what a site's own test suite uses to get a token in one call."""

from __future__ import annotations

import jwt
import pytest

from oauth_cc.models import Client, Scope
from oauth_cc.testing import bearer, mint_token, oauth_cc_token  # noqa: F401 - the fixture
from tests.test_dpop import Prover

pytestmark = pytest.mark.django_db


def test_mint_token_for_a_throwaway_client(http):
    token = mint_token(scopes=["address"])
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["scope"] == "address"
    assert Scope.objects.filter(name="address").exists()
    assert Client.objects.filter(client_id=claims["client_id"]).exists()
    assert http.get("/api/address", headers=bearer(token)).status_code == 200


def test_mint_token_for_a_client_defaults_to_its_scopes(http, oauth_client):
    client, _ = oauth_client
    token = mint_token(client, expires_in=30)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["client_id"] == client.client_id
    assert claims["scope"] == "address phone"
    assert claims["exp"] - claims["iat"] == 30


def test_the_pytest_fixture(http, oauth_cc_token, oauth_client):  # noqa: F811
    token = oauth_cc_token("phone")
    assert http.get("/api/phone", headers=bearer(token)).status_code == 200
    assert http.get("/api/address", headers=bearer(token)).status_code == 403
    client, _ = oauth_client
    own = oauth_cc_token(client=client)
    assert jwt.decode(own, options={"verify_signature": False})["sub"] == client.client_id


def test_bearer_header():
    assert bearer("abc") == {"Authorization": "Bearer abc"}


def test_mint_token_bound_to_a_dpop_key(http, oauth_client, frozen_clock):
    client, _ = oauth_client
    prover = Prover()
    token = mint_token(client, ["address"], jkt=prover.jkt)
    assert jwt.decode(token, options={"verify_signature": False})["cnf"] == {"jkt": prover.jkt}
    proof = prover.proof("GET", "http://testserver/api/address", access_token=token)
    assert http.get("/api/address", headers={"Authorization": f"DPoP {token}",
                                             "DPoP": proof}).status_code == 200
    assert http.get("/api/address", headers=bearer(token)).status_code == 401
