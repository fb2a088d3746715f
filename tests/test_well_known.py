"""GET /.well-known/jwks.json and /.well-known/oauth-authorization-server."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient
from django.test import override_settings
from django.urls import include, path

from oauth_cc.models import SigningKey, retired_key_lifetime

pytestmark = pytest.mark.django_db
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def test_jwks_publishes_active_and_next_keys(http):
    response = http.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "public, max-age=300"
    assert response["Access-Control-Allow-Origin"] == "*"  # readable by code in a browser
    keys = response.json()["keys"]
    assert {k["kid"] for k in keys} == set(SigningKey.objects.values_list("kid", flat=True))
    assert len(keys) == 2
    for key in keys:
        assert key["kty"] == "RSA" and key["use"] == "sig" and key["alg"] == "RS256"
        assert key["e"] == "AQAB" and key["n"]
        assert not PRIVATE_MEMBERS & set(key)


@override_settings(OAUTH_CC={"ISSUER": "https://issuer.test", "JWKS_MAX_AGE": 60})
def test_jwks_max_age_setting(http):
    assert http.get("/.well-known/jwks.json")["Cache-Control"] == "public, max-age=60"


def test_jwks_keeps_retired_keys_until_their_tokens_expire(http, frozen_clock):
    first = SigningKey.objects.active()
    SigningKey.objects.rotate("ES256")
    SigningKey.objects.rotate("EdDSA")
    SigningKey.objects.rotate()
    keys = http.get("/.well-known/jwks.json").json()["keys"]
    assert first.kid in {k["kid"] for k in keys}
    assert {k["kty"] for k in keys} == {"RSA", "EC", "OKP"}
    for key in keys:
        assert not PRIVATE_MEMBERS & set(key)
        if key["kty"] == "EC":
            assert key["crv"] == "P-256" and key["alg"] == "ES256" and key["x"] and key["y"]
        if key["kty"] == "OKP":
            assert key["crv"] == "Ed25519" and key["alg"] == "EdDSA" and key["x"]
    frozen_clock.advance(retired_key_lifetime().total_seconds())
    keys = http.get("/.well-known/jwks.json").json()["keys"]
    assert first.kid not in {k["kid"] for k in keys}


def test_jwks_is_read_only(http):
    assert http.post("/.well-known/jwks.json").status_code == 405


def test_metadata(http, scopes):
    response = http.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    body = response.json()
    assert body["issuer"] == "https://issuer.test"
    assert body["token_endpoint"] == "https://issuer.test/oauth/token"
    assert body["jwks_uri"] == "https://issuer.test/.well-known/jwks.json"
    assert body["grant_types_supported"] == ["client_credentials"]
    assert body["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic", "client_secret_post", "private_key_jwt"]
    # RFC 8414 §2: the algorithms a private_key_jwt assertion may use; never none or HMAC.
    assert body["token_endpoint_auth_signing_alg_values_supported"] == [
        "RS256", "PS256", "ES256", "EdDSA", "Ed25519"]
    for endpoint in ("introspection", "revocation"):
        assert body[f"{endpoint}_endpoint_auth_methods_supported"] == body[
            "token_endpoint_auth_methods_supported"]
        assert body[f"{endpoint}_endpoint_auth_signing_alg_values_supported"] == body[
            "token_endpoint_auth_signing_alg_values_supported"]
    assert body["response_types_supported"] == []
    assert body["scopes_supported"] == ["address", "email", "phone"]


urlpatterns = [path("auth/", include("oauth_cc.urls"))]


@override_settings(ROOT_URLCONF=__name__,
                   OAUTH_CC={"ISSUER": "https://api.example.com/tenant-a"})
def test_metadata_urls_use_the_issuer_origin_and_the_mount_path(http):
    body = http.get("/auth/.well-known/oauth-authorization-server").json()
    assert body["issuer"] == "https://api.example.com/tenant-a"
    assert body["token_endpoint"] == "https://api.example.com/auth/oauth/token"
    assert body["jwks_uri"] == "https://api.example.com/auth/.well-known/jwks.json"


@pytest.mark.parametrize("path", ["/.well-known/jwks.json",
                                  "/.well-known/oauth-authorization-server"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_public_documents_refuse_other_methods_with_405(path, method):
    """Not a CSRF 403: the client that sent it has the wrong method, not a missing cookie."""
    response = getattr(HttpClient(enforce_csrf_checks=True), method)(path)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, OPTIONS"


@override_settings(OAUTH_CC={"ISSUER": "https://api.example.com/tenant-a"})
def test_metadata_of_an_issuer_with_a_path_is_also_where_rfc8414_puts_it(http):
    """RFC 8414 §3.1: /.well-known/oauth-authorization-server/tenant-a for .../tenant-a."""
    at_root = http.get("/.well-known/oauth-authorization-server").json()
    at_path = http.get("/.well-known/oauth-authorization-server/tenant-a")
    assert at_path.status_code == 200
    assert at_path["Access-Control-Allow-Origin"] == "*"
    assert at_path.json() == at_root
    assert at_root["issuer"] == "https://api.example.com/tenant-a"
    assert http.get("/.well-known/oauth-authorization-server/tenant-b").status_code == 404


def test_no_metadata_below_the_well_known_path_of_an_issuer_without_one(http):
    assert http.get("/.well-known/oauth-authorization-server/anything").status_code == 404


def test_metadata_lists_the_dpop_algorithms(http):
    """RFC 9449 §5.1: what a DPoP proof may be signed with; never none or an HMAC."""
    body = http.get("/.well-known/oauth-authorization-server").json()
    assert body["dpop_signing_alg_values_supported"] == ["ES256", "RS256", "PS256", "EdDSA"]
    with override_settings(OAUTH_CC={"ISSUER": "https://issuer.test",
                                     "DPOP_ALGORITHMS": ["ES256"]}):
        body = http.get("/.well-known/oauth-authorization-server").json()
    assert body["dpop_signing_alg_values_supported"] == ["ES256"]
