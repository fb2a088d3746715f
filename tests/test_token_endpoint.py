"""POST /oauth/token: every row of CONTRACT.md section 3, in its order of checks."""

from __future__ import annotations

import base64
import re

import jwt
import pytest
from django.test import override_settings

from oauth_cc.models import Client, Project, SigningKey
from tests.conftest import T0
from tests.helpers import basic, post_form, token_request, unverified

pytestmark = pytest.mark.django_db


def assert_no_store(response):
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def assert_error(response, status, error):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]
    assert_no_store(response)
    return body


# Success


@pytest.mark.parametrize("via", ["post", "basic"])
def test_success_response(http, oauth_client, via):
    client, secret = oauth_client
    response = token_request(http, client.client_id, secret, via=via)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert_no_store(response)
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == "address phone"


def test_claims_and_header_with_a_frozen_clock(http, oauth_client, frozen_clock):
    client, secret = oauth_client
    body = token_request(http, client.client_id, secret, scope="phone", expires_in="60").json()
    header, claims = unverified(body["access_token"])
    active = SigningKey.objects.get(state="active")
    assert header == {"alg": "RS256", "typ": "at+jwt", "kid": active.kid}
    assert claims == {
        "iss": "https://issuer.test", "sub": client.client_id, "client_id": client.client_id,
        "aud": "https://issuer.test", "iat": int(T0), "nbf": int(T0), "exp": int(T0) + 60,
        "jti": claims["jti"], "scope": "phone", "project": str(client.project_id),
    }
    assert isinstance(claims["project"], str)
    assert body["expires_in"] == 60


def test_token_verifies_with_the_published_key(http, oauth_client):
    client, secret = oauth_client
    token = token_request(http, client.client_id, secret).json()["access_token"]
    jwks = http.get("/.well-known/jwks.json").json()
    key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience="https://issuer.test",
                        issuer="https://issuer.test")
    assert claims["sub"] == client.client_id


def test_every_token_has_a_unique_jti(http, oauth_client):
    client, secret = oauth_client
    jtis = {unverified(token_request(http, client.client_id, secret).json()["access_token"])[1]
            ["jti"] for _ in range(5)}
    assert len(jtis) == 5


@override_settings(OAUTH_CC={"ISSUER": "https://issuer.test", "AUDIENCE": "https://api.test"})
def test_audience_setting(http, oauth_client):
    client, secret = oauth_client
    claims = unverified(token_request(http, client.client_id, secret).json()["access_token"])[1]
    assert claims["aud"] == "https://api.test"
    assert claims["iss"] == "https://issuer.test"


@override_settings(OAUTH_CC={"ISSUER": "https://issuer.test", "SIGNING_ALGORITHM": "ES256"})
def test_es256_signing(http, oauth_client):
    client, secret = oauth_client
    token = token_request(http, client.client_id, secret).json()["access_token"]
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    jwks = jwt.PyJWKSet.from_dict(http.get("/.well-known/jwks.json").json())
    key = jwks[jwt.get_unverified_header(token)["kid"]]
    assert jwt.decode(token, key.key, algorithms=["ES256"], audience="https://issuer.test")


@override_settings(OAUTH_CC={"ISSUER": "https://issuer.test", "SIGNING_ALGORITHM": "EdDSA"})
def test_eddsa_signing(http, oauth_client):
    client, secret = oauth_client
    token = token_request(http, client.client_id, secret).json()["access_token"]
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"
    jwks = jwt.PyJWKSet.from_dict(http.get("/.well-known/jwks.json").json())
    key = jwks[jwt.get_unverified_header(token)["kid"]]
    assert jwt.decode(token, key.key, algorithms=["EdDSA"], audience="https://issuer.test")


def test_first_token_creates_the_first_keys(http, oauth_client):
    assert not SigningKey.objects.exists()
    client, secret = oauth_client
    assert token_request(http, client.client_id, secret).status_code == 200
    assert sorted(SigningKey.objects.values_list("state", flat=True)) == ["active", "next"]


def test_media_type_parameters_are_fine(http, oauth_client):
    client, secret = oauth_client
    response = post_form(
        http, "/oauth/token",
        {"grant_type": "client_credentials", "client_id": client.client_id,
         "client_secret": secret},
        content_type="application/x-www-form-urlencoded; charset=UTF-8")
    assert response.status_code == 200


# Scope


def test_no_scope_or_empty_scope_grants_every_permitted_scope(http, oauth_client):
    client, secret = oauth_client
    assert token_request(http, client.client_id, secret).json()["scope"] == "address phone"
    assert token_request(http, client.client_id, secret, scope="").json()["scope"] == \
        "address phone"


def test_requested_scope_is_granted_exactly(http, oauth_client):
    client, secret = oauth_client
    body = token_request(http, client.client_id, secret, scope="phone  address phone").json()
    assert body["scope"] == "phone address"
    assert unverified(body["access_token"])[1]["scope"] == "phone address"


@pytest.mark.parametrize("scope", ["email", "address email", "nonexistent", 'bad"quote'])
def test_scope_not_permitted(http, oauth_client, scope):
    client, secret = oauth_client
    assert_error(token_request(http, client.client_id, secret, scope=scope), 400,
                 "invalid_scope")


@pytest.mark.parametrize(("body", "says"), [
    ("grant_type=client_credentials&scope=bad%22quote%5C%C3%A9%00&client_id={id}"
     "&client_secret={secret}", "not allowed"),
    ("grant_type=client_credentials&a%22%5C%C3%A9=1&a%22%5C%C3%A9=2", "is repeated"),
])
def test_error_descriptions_that_quote_the_request_stay_in_their_charset(http, oauth_client,
                                                                         body, says):
    """RFC 6749 §5.2: error_description is printable ASCII without '"' and '\\'."""
    client, secret = oauth_client
    response = post_form(http, "/oauth/token",
                         body.format(id=client.client_id, secret=secret).encode())
    assert response.status_code == 400
    description = response.json()["error_description"]
    assert re.fullmatch(r"[\x20-\x21\x23-\x5b\x5d-\x7e]+", description), description
    assert says in description


# expires_in


@pytest.mark.parametrize("value", ["1", "3600", "0900"])
def test_expires_in_in_range(http, oauth_client, value):
    client, secret = oauth_client
    body = token_request(http, client.client_id, secret, expires_in=value).json()
    assert body["expires_in"] == int(value)
    claims = unverified(body["access_token"])[1]
    assert claims["exp"] - claims["iat"] == int(value)


@pytest.mark.parametrize("value", ["0", "3601", "-5", "+5", "1.5", "1e3", "abc", " 60",
                                   "١٢", "99999999999999999999"])
def test_expires_in_out_of_range(http, oauth_client, value):
    client, secret = oauth_client
    body = assert_error(token_request(http, client.client_id, secret, expires_in=value), 400,
                        "invalid_request")
    assert "1 to 3600" in body["error_description"]


@override_settings(OAUTH_CC={"ISSUER": "https://issuer.test", "DEFAULT_EXPIRES_IN": 300,
                             "MAX_EXPIRES_IN": 600})
def test_expiry_settings(http, oauth_client):
    client, secret = oauth_client
    assert token_request(http, client.client_id, secret).json()["expires_in"] == 300
    body = assert_error(token_request(http, client.client_id, secret, expires_in="601"), 400,
                        "invalid_request")
    assert "1 to 600" in body["error_description"]


# grant_type


def test_missing_grant_type(http, oauth_client):
    client, secret = oauth_client
    response = post_form(http, "/oauth/token",
                         {"client_id": client.client_id, "client_secret": secret})
    body = assert_error(response, 400, "invalid_request")
    assert "grant_type" in body["error_description"]


@pytest.mark.parametrize("grant", ["password", "authorization_code", "CLIENT_CREDENTIALS"])
def test_unsupported_grant_type(http, oauth_client, grant):
    client, secret = oauth_client
    response = post_form(http, "/oauth/token", {"grant_type": grant, "client_id":
                                                client.client_id, "client_secret": secret})
    assert_error(response, 400, "unsupported_grant_type")


# Client authentication


def test_wrong_secret(http, oauth_client):
    client, _ = oauth_client
    response = token_request(http, client.client_id, "wrong")
    assert_error(response, 401, "invalid_client")
    assert "WWW-Authenticate" not in response


def test_wrong_secret_with_basic_challenges_basic(http, oauth_client):
    client, _ = oauth_client
    response = token_request(http, client.client_id, "wrong", via="basic")
    assert_error(response, 401, "invalid_client")
    assert response["WWW-Authenticate"] == 'Basic realm="oauth"'


def test_unknown_client_gets_the_same_answer_as_a_wrong_secret(http, oauth_client):
    client, secret = oauth_client
    unknown = token_request(http, "no-such-client", secret).json()
    wrong = token_request(http, client.client_id, "x" * 43).json()
    assert unknown == wrong


@pytest.mark.parametrize("via", ["post", "basic"])
@pytest.mark.parametrize("client_id", ["\x00", "{id}\x00", "x" * 65, "{id}" + "x" * 64])
def test_client_ids_no_client_can_have(http, oauth_client, via, client_id):
    """Answered like an unknown client, never looked up: PostgreSQL refuses NUL in a query."""
    client, secret = oauth_client
    response = token_request(http, client_id.format(id=client.client_id), secret, via=via)
    assert_error(response, 401, "invalid_client")
    assert response.json()["error_description"] == "Unknown client or wrong secret."


def test_a_client_record_read_that_raced_a_local_change_is_not_kept(http, oauth_client,
                                                                     monkeypatch):
    client, secret = oauth_client
    record = Client.objects.record

    def read_then_disable(client_id):
        before = record(client_id)
        client.is_active = False
        client.save()  # committed while the read's answer is in flight
        return before

    monkeypatch.setattr(Client.objects, "record", read_then_disable)
    assert token_request(http, client.client_id, secret).status_code == 200
    monkeypatch.setattr(Client.objects, "record", record)
    assert_error(token_request(http, client.client_id, secret), 401, "invalid_client")


def test_a_wall_clock_stepped_back_does_not_keep_a_stale_client_record(http, oauth_client,
                                                                        frozen_clock):
    client, secret = oauth_client
    assert token_request(http, client.client_id, secret).status_code == 200
    Client.objects.filter(pk=client.pk).update(is_active=False)  # elsewhere
    frozen_clock.set(T0 - 3600)
    frozen_clock.advance(5)
    assert_error(token_request(http, client.client_id, secret), 401, "invalid_client")


def test_no_credentials(http, scopes):
    response = post_form(http, "/oauth/token", {"grant_type": "client_credentials"})
    assert_error(response, 401, "invalid_client")


def test_client_id_without_secret(http, oauth_client):
    client, _ = oauth_client
    response = post_form(http, "/oauth/token", {"grant_type": "client_credentials",
                                                "client_id": client.client_id})
    assert_error(response, 401, "invalid_client")


def test_disabled_client(http, oauth_client):
    client, secret = oauth_client
    Client.objects.filter(pk=client.pk).update(is_active=False)
    body = assert_error(token_request(http, client.client_id, secret), 401, "invalid_client")
    assert "disabled" in body["error_description"]


def test_disabled_project(http, oauth_client):
    client, secret = oauth_client
    Project.objects.filter(pk=client.project_id).update(is_active=False)
    body = assert_error(token_request(http, client.client_id, secret, via="basic"), 401,
                        "invalid_client")
    assert "not enabled" in body["error_description"]


@pytest.mark.parametrize("secret_of", [0, 1, 42, 43, 44, 255, 256, 257, 10_000])
def test_secrets_of_the_wrong_length(http, oauth_client, secret_of):
    client, _ = oauth_client
    assert_error(token_request(http, client.client_id, "a" * secret_of), 401,
                 "invalid_client")


def test_secret_of_another_client(http, make_client):
    first, _ = make_client()
    _, second_secret = make_client()
    assert_error(token_request(http, first.client_id, second_secret), 401, "invalid_client")


def test_basic_credentials_are_url_decoded(http, oauth_client):
    """RFC 6749 §2.3.1: Basic values are form-urlencoded first (Authlib does this)."""
    client, secret = oauth_client
    encoded = "".join(f"%{ord(c):02X}" for c in client.client_id)
    response = post_form(http, "/oauth/token", {"grant_type": "client_credentials"},
                         HTTP_AUTHORIZATION=basic(encoded, secret))
    assert response.status_code == 200


@pytest.mark.parametrize("header", [
    "Basic", "Basic ", "Basic !!!notbase64!!!", "Basic " + base64.b64encode(b"nocolon").decode(),
    "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
    "Basic " + base64.b64encode(b"%ZZ:%zz").decode(), "Basic YWJj ZGVm",
    "basic " + base64.b64encode(b"a:%FF").decode(),
])
def test_malformed_basic_headers(http, scopes, header):
    response = post_form(http, "/oauth/token", {"grant_type": "client_credentials"},
                         HTTP_AUTHORIZATION=header)
    assert_error(response, 401, "invalid_client")
    assert response["WWW-Authenticate"].startswith("Basic realm=")


def test_basic_scheme_is_case_insensitive(http, oauth_client):
    client, secret = oauth_client
    header = basic(client.client_id, secret).replace("Basic", "bAsIc")
    response = post_form(http, "/oauth/token", {"grant_type": "client_credentials"},
                         HTTP_AUTHORIZATION=header)
    assert response.status_code == 200


def test_basic_with_the_same_client_id_in_the_body_is_fine(http, oauth_client):
    client, secret = oauth_client
    response = post_form(http, "/oauth/token",
                         {"grant_type": "client_credentials", "client_id": client.client_id},
                         HTTP_AUTHORIZATION=basic(client.client_id, secret))
    assert response.status_code == 200


# The request's shape


def test_two_auth_methods_at_once(http, oauth_client):
    client, secret = oauth_client
    response = post_form(http, "/oauth/token",
                         {"grant_type": "client_credentials", "client_id": client.client_id,
                          "client_secret": secret},
                         HTTP_AUTHORIZATION=basic(client.client_id, secret))
    body = assert_error(response, 400, "invalid_request")
    assert "not both" in body["error_description"]


def test_basic_with_another_client_id_in_the_body(http, make_client):
    first, secret = make_client()
    second, _ = make_client()
    response = post_form(http, "/oauth/token",
                         {"grant_type": "client_credentials", "client_id": second.client_id},
                         HTTP_AUTHORIZATION=basic(first.client_id, secret))
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize("query", ["client_id={id}", "client_secret={secret}",
                                   "client_id={id}&client_secret={secret}"])
def test_credentials_in_the_query(http, oauth_client, query):
    client, secret = oauth_client
    path = "/oauth/token?" + query.format(id=client.client_id, secret=secret)
    response = post_form(http, path, {"grant_type": "client_credentials"},
                         HTTP_AUTHORIZATION=basic(client.client_id, secret))
    body = assert_error(response, 400, "invalid_request")
    assert "query" in body["error_description"]


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/introspect", "/oauth/revoke"])
def test_a_query_with_more_parameters_than_django_reads_is_invalid_request(
        http, oauth_client, settings, path):
    # Django refuses to parse more than DATA_UPLOAD_MAX_NUMBER_FIELDS (TooManyFieldsSent):
    # looking for credentials there once answered with Django's bare 400 page (a 500 with
    # DEBUG on), not with JSON.
    client, secret = oauth_client
    query = "&".join(f"a{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = post_form(http, f"{path}?{query}", {"grant_type": "client_credentials",
                                                   "token": "x"},
                         HTTP_AUTHORIZATION=basic(client.client_id, secret))
    body = assert_error(response, 400, "invalid_request")
    assert "query" in body["error_description"]
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("name", ["grant_type", "scope", "client_id", "client_secret",
                                  "expires_in"])
def test_repeated_parameter(http, oauth_client, name):
    client, secret = oauth_client
    params = {"grant_type": "client_credentials", "client_id": client.client_id,
              "client_secret": secret, "scope": "address", "expires_in": "60"}
    pairs = [*params.items(), (name, params[name])]
    body = assert_error(post_form(http, "/oauth/token", pairs), 400, "invalid_request")
    assert name in body["error_description"]


def test_repeated_empty_parameter(http, oauth_client):
    client, secret = oauth_client
    pairs = [("grant_type", "client_credentials"), ("client_id", client.client_id),
             ("client_secret", secret), ("scope", ""), ("scope", "address")]
    assert_error(post_form(http, "/oauth/token", pairs), 400, "invalid_request")


@pytest.mark.parametrize("content_type", ["application/json", "multipart/form-data; boundary=x",
                                          "text/plain"])
def test_body_not_form_encoded(http, oauth_client, content_type):
    client, secret = oauth_client
    body = b'{"grant_type": "client_credentials"}'
    response = post_form(http, "/oauth/token", body, content_type=content_type,
                         HTTP_AUTHORIZATION=basic(client.client_id, secret))
    assert_error(response, 400, "invalid_request")


def test_json_body_is_rejected_before_client_authentication(http, scopes):
    response = post_form(http, "/oauth/token", b'{"client_id": "x"}',
                         content_type="application/json")
    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize("body", [b"grant_type=client_credentials&scope=%FF",
                                  b"grant_type=client_\xff\xfecredentials"])
def test_non_utf8_bodies(http, oauth_client, body):
    client, secret = oauth_client
    response = post_form(http, "/oauth/token", body,
                         HTTP_AUTHORIZATION=basic(client.client_id, secret))
    assert_error(response, 400, "invalid_request")


def test_oversized_body(http, oauth_client):
    client, secret = oauth_client
    body = b"grant_type=client_credentials&scope=" + b"a" * 20_000
    response = post_form(http, "/oauth/token", body,
                         HTTP_AUTHORIZATION=basic(client.client_id, secret))
    body = assert_error(response, 400, "invalid_request")
    assert "larger than" in body["error_description"]


def test_too_many_parameters(http, oauth_client):
    client, secret = oauth_client
    body = "&".join(f"p{i}=1" for i in range(100)).encode()
    response = post_form(http, "/oauth/token", body,
                         HTTP_AUTHORIZATION=basic(client.client_id, secret))
    assert_error(response, 400, "invalid_request")


def test_shape_is_checked_before_client_authentication(http, scopes):
    pairs = [("grant_type", "client_credentials"), ("grant_type", "client_credentials"),
             ("client_id", "unknown"), ("client_secret", "wrong")]
    assert_error(post_form(http, "/oauth/token", pairs), 400, "invalid_request")


def test_client_authentication_is_checked_before_grant_type(http, scopes):
    response = post_form(http, "/oauth/token", {"grant_type": "password", "client_id": "nope",
                                                "client_secret": "nope"})
    assert_error(response, 401, "invalid_client")


def test_grant_type_is_checked_before_scope(http, oauth_client):
    client, secret = oauth_client
    response = post_form(http, "/oauth/token",
                         {"grant_type": "password", "scope": "email",
                          "client_id": client.client_id, "client_secret": secret})
    assert_error(response, 400, "unsupported_grant_type")


def test_scope_is_checked_before_expires_in(http, oauth_client):
    client, secret = oauth_client
    assert_error(token_request(http, client.client_id, secret, scope="email", expires_in="0"),
                 400, "invalid_scope")


# Methods


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "HEAD"])
def test_other_methods_are_not_allowed(http, method):
    response = http.generic(method, "/oauth/token")
    assert response.status_code == 405
    assert "POST" in response["Allow"]
    assert_no_store(response)


def test_options_is_allowed(http):
    response = http.options("/oauth/token")
    assert response.status_code == 200
    assert "POST" in response["Allow"]


def test_get_with_credentials_is_still_405(http, oauth_client):
    client, secret = oauth_client
    response = http.get("/oauth/token", {"grant_type": "client_credentials",
                                         "client_id": client.client_id,
                                         "client_secret": secret})
    assert response.status_code == 405


def test_no_csrf_token_needed(oauth_client):
    from django.test import Client as HttpClient

    http = HttpClient(enforce_csrf_checks=True)
    client, secret = oauth_client
    assert token_request(http, client.client_id, secret).status_code == 200


def test_token_view_marks_secrets_sensitive(rf):
    from oauth_cc.views import TokenView

    request = rf.post("/oauth/token", {"client_secret": "s"})
    TokenView.as_view()(request)
    assert set(request.sensitive_post_parameters) >= {"client_secret"}


def test_a_warm_token_request_makes_no_query(http, oauth_client, django_assert_num_queries):
    client, secret = oauth_client
    assert token_request(http, client.client_id, secret).status_code == 200  # reads both
    with django_assert_num_queries(0):
        assert token_request(http, client.client_id, secret).status_code == 200


def test_a_client_read_takes_one_query(http, oauth_client, frozen_clock,
                                       django_assert_num_queries):
    client, secret = oauth_client
    assert token_request(http, client.client_id, secret).status_code == 200
    frozen_clock.advance(5)  # the cached client and active key are due to be re-read
    with django_assert_num_queries(2):  # the client, and which key is active
        assert token_request(http, client.client_id, secret).status_code == 200


# Changes to a client, here and in other processes


def test_changes_made_elsewhere_apply_within_state_ttl(http, oauth_client, frozen_clock):
    from oauth_cc import credentials

    client, secret = oauth_client
    assert token_request(http, client.client_id, secret).status_code == 200
    # Another process regenerates the secret (no signal reaches this one).
    Client.objects.filter(pk=client.pk).update(secret_hash=credentials.hash_secret("new"))
    frozen_clock.advance(4.9)
    assert token_request(http, client.client_id, secret).status_code == 200
    frozen_clock.advance(0.1)
    assert token_request(http, client.client_id, secret).status_code == 401
    assert token_request(http, client.client_id, "new").status_code == 200
    Client.objects.filter(pk=client.pk).update(is_active=False)
    frozen_clock.advance(5)
    assert token_request(http, client.client_id, "new").status_code == 401


def test_changes_made_here_apply_at_once(http, oauth_client, scopes):
    client, secret = oauth_client
    assert token_request(http, client.client_id, secret).json()["scope"] == "address phone"
    client.scopes.add(scopes["email"])
    assert token_request(http, client.client_id, secret).json()["scope"] == \
        "address email phone"
    scopes["phone"].delete()
    assert token_request(http, client.client_id, secret).json()["scope"] == "address email"
    scopes["email"].clients.remove(client)
    assert token_request(http, client.client_id, secret).json()["scope"] == "address"
    project = client.project
    project.is_active = False
    project.save()
    assert token_request(http, client.client_id, secret).status_code == 401
    project.is_active = True
    project.save()
    client.delete()
    assert token_request(http, client.client_id, secret).status_code == 401


# A bound on the requested scopes (RFC 6749 §3.3 sets none; every name costs work and bytes)


@pytest.mark.parametrize("count", [65, 2500])
def test_too_many_scope_names_are_refused(http, oauth_client, count):
    client, secret = oauth_client
    requested = " ".join(f"s{i}" for i in range(count))
    body = assert_error(token_request(http, client.client_id, secret, scope=requested), 400,
                        "invalid_scope")
    assert "more than 64 scopes" in body["error_description"]
