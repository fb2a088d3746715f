"""Brute-force protection of client authentication (CONTRACT.md section 3, RFC 6749 §2.3.1)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from oauth_cc import credentials
from oauth_cc.testing import mint_token
from tests.helpers import basic, post_form, token_request

pytestmark = pytest.mark.django_db
ISSUER = "https://issuer.test"


def attempt(http, client_id, secret, address="203.0.113.7", **headers):
    return post_form(http, "/oauth/token",
                     {"grant_type": "client_credentials", "client_id": client_id,
                      "client_secret": secret}, REMOTE_ADDR=address, **headers)


def test_the_11th_attempt_of_a_client_from_one_address_is_refused(http, oauth_client,
                                                                  frozen_clock):
    client, secret = oauth_client
    for _ in range(10):
        assert attempt(http, client.client_id, "wrong").status_code == 401
    response = attempt(http, client.client_id, secret)  # even the right secret
    assert response.status_code == 429
    assert response["Retry-After"] == "300"
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == "slow_down"
    assert body["error_description"]
    frozen_clock.advance(120)
    assert attempt(http, client.client_id, secret)["Retry-After"] == "180"


def test_the_secret_is_not_checked_while_blocked(http, oauth_client, monkeypatch):
    client, _ = oauth_client
    for _ in range(10):
        attempt(http, client.client_id, "wrong")
    checked = []
    monkeypatch.setattr(credentials, "check_secret", lambda *a: checked.append(a) or (False,
                                                                                       False))
    assert attempt(http, client.client_id, "guess").status_code == 429
    assert checked == []


def test_the_same_client_from_another_address_is_not_blocked(http, oauth_client):
    client, secret = oauth_client
    for _ in range(10):
        attempt(http, client.client_id, "wrong", address="203.0.113.7")
    assert attempt(http, client.client_id, secret, address="203.0.113.7").status_code == 429
    assert attempt(http, client.client_id, secret, address="198.51.100.1").status_code == 200


def test_the_window_passes(http, oauth_client, frozen_clock):
    client, secret = oauth_client
    for _ in range(10):
        attempt(http, client.client_id, "wrong")
    frozen_clock.advance(299)
    assert attempt(http, client.client_id, secret).status_code == 429
    frozen_clock.advance(1)
    assert attempt(http, client.client_id, secret).status_code == 200


def test_successes_do_not_count(http, oauth_client):
    client, secret = oauth_client
    for _ in range(30):
        assert attempt(http, client.client_id, secret).status_code == 200


def test_the_101st_failure_from_one_address_is_refused(http, make_client):
    victim, secret = make_client()
    for i in range(100):
        assert attempt(http, f"guess-{i}", "wrong").status_code == 401
    assert attempt(http, victim.client_id, secret).status_code == 429
    assert attempt(http, victim.client_id, secret, address="198.51.100.1").status_code == 200


@override_settings(OAUTH_CC={"ISSUER": ISSUER, "AUTH_FAILURES_PER_CLIENT": 2,
                             "AUTH_FAILURES_PER_ADDRESS": 3,
                             "AUTH_FAILURE_WINDOW_SECONDS": 60})
def test_limits_are_settings(http, make_client, frozen_clock):
    client, secret = make_client()
    attempt(http, client.client_id, "wrong")
    attempt(http, client.client_id, "wrong")
    response = attempt(http, client.client_id, secret)
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    attempt(http, "other", "wrong", address="192.0.2.1")
    attempt(http, "other2", "wrong", address="192.0.2.1")
    attempt(http, "other3", "wrong", address="192.0.2.1")
    assert attempt(http, client.client_id, secret, address="192.0.2.1").status_code == 429


def test_basic_failures_count_too(http, oauth_client):
    client, secret = oauth_client
    for _ in range(10):
        response = post_form(http, "/oauth/token", {"grant_type": "client_credentials"},
                             HTTP_AUTHORIZATION=basic(client.client_id, "wrong"),
                             REMOTE_ADDR="203.0.113.9")
        assert response.status_code == 401
    response = post_form(http, "/oauth/token", {"grant_type": "client_credentials"},
                         HTTP_AUTHORIZATION=basic(client.client_id, secret),
                         REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 429


def test_forwarded_for_is_ignored_without_trusted_proxies(http, oauth_client):
    client, secret = oauth_client
    for i in range(10):
        attempt(http, client.client_id, "wrong", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
    assert attempt(http, client.client_id, secret,
                   HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 429


@override_settings(OAUTH_CC={"ISSUER": ISSUER, "TRUSTED_PROXIES": 1})
def test_trusted_proxies(http, oauth_client):
    client, secret = oauth_client
    proxy = "10.0.0.1"
    for _ in range(10):
        attempt(http, client.client_id, "wrong", address=proxy,
                HTTP_X_FORWARDED_FOR="spoofed, 203.0.113.50")
    assert attempt(http, client.client_id, secret, address=proxy,
                   HTTP_X_FORWARDED_FOR="203.0.113.50").status_code == 429
    # Another real client behind the same proxy is not blocked.
    assert attempt(http, client.client_id, secret, address=proxy,
                   HTTP_X_FORWARDED_FOR="203.0.113.51").status_code == 200


@override_settings(OAUTH_CC={"ISSUER": ISSUER, "TRUSTED_PROXIES": 2})
def test_two_trusted_proxies_take_the_second_address_from_the_right(rf):
    from oauth_cc.throttle import client_address

    request = rf.get("/", REMOTE_ADDR="10.0.0.2",
                     HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.5, 10.0.0.1")
    assert client_address(request) == "203.0.113.5"
    assert client_address(rf.get("/", REMOTE_ADDR="10.0.0.2",
                                 HTTP_X_FORWARDED_FOR="10.0.0.1")) == "10.0.0.2"


@pytest.mark.parametrize("path", ["/oauth/introspect", "/oauth/revoke"])
def test_introspection_and_revocation_are_protected_too(http, oauth_client, path):
    client, secret = oauth_client
    token = mint_token(client)
    for _ in range(10):
        response = post_form(http, path, {"token": token, "client_id": client.client_id,
                                          "client_secret": "wrong"}, REMOTE_ADDR="203.0.113.8")
        assert response.status_code == 401
    response = post_form(http, path, {"token": token, "client_id": client.client_id,
                                      "client_secret": secret}, REMOTE_ADDR="203.0.113.8")
    assert response.status_code == 429
    assert token_request(http, client.client_id, secret).status_code == 200  # other address
