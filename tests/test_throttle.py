"""Brute-force protection of client authentication (CONTRACT.md section 3, RFC 6749 §2.3.1)."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.test import Client as HttpClient
from django.test import override_settings

from oauth_cc import credentials, state, throttle
from oauth_cc.exceptions import TooManyAttempts
from oauth_cc.settings import oauth_cc_settings
from oauth_cc.testing import mint_token
from tests.helpers import all_at_once, basic, post_form, token_request

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


# Addresses: one client has one bucket, whatever form its address takes.

@override_settings(OAUTH_CC={"ISSUER": ISSUER, "TRUSTED_PROXIES": 1})
@pytest.mark.parametrize(("forwarded", "expected"), [
    ("203.0.113.7", "203.0.113.7"),
    ("203.0.113.7:4711", "203.0.113.7"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("[::FFFF:CB00:7107]:443", "203.0.113.7"),
    ("[2001:DB8::1]:443", "2001:db8::1"),
    ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
    ("[2001:db8::1]", "2001:db8::1"),
    ("fe80::1%eth0", "fe80::1"),
    # Not an address: the trusted proxy's own address, never a bucket of its own.
    ("01.2.3.4", "10.0.0.1"),  # leading zeros: octal to some parsers, refused by ipaddress
    ("unknown", "10.0.0.1"),
    ("203.0.113.7:http", "10.0.0.1"),
    ("[2001:db8::1", "10.0.0.1"),
    ("1.2.3", "10.0.0.1"),
])
def test_client_address_is_normalised(rf, forwarded, expected):
    from oauth_cc.throttle import client_address

    assert client_address(rf.get("/", REMOTE_ADDR="10.0.0.1",
                                 HTTP_X_FORWARDED_FOR=f"1.1.1.1, {forwarded}")) == expected


def test_an_ipv4_mapped_remote_addr_is_the_ipv4_address(rf):
    from oauth_cc.throttle import client_address

    # What a dual-stack socket reports for an IPv4 client.
    assert client_address(rf.get("/", REMOTE_ADDR="::ffff:127.0.0.1")) == "127.0.0.1"


@override_settings(OAUTH_CC={"ISSUER": ISSUER, "TRUSTED_PROXIES": 1})
def test_one_address_in_any_form_shares_one_count(http, oauth_client):
    client, secret = oauth_client
    forms = ["203.0.113.7", "203.0.113.7:4711", "::ffff:203.0.113.7",
             "[::ffff:203.0.113.7]:443", "::FFFF:CB00:7107"]
    for i in range(10):
        assert attempt(http, client.client_id, "wrong", address="10.0.0.1",
                       HTTP_X_FORWARDED_FOR=forms[i % len(forms)]).status_code == 401
    assert attempt(http, client.client_id, secret, address="10.0.0.1",
                   HTTP_X_FORWARDED_FOR="203.0.113.7:9999").status_code == 429
    assert attempt(http, client.client_id, secret, address="10.0.0.1",
                   HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 200


def test_ipv6_is_counted_per_64(http, oauth_client):
    client, secret = oauth_client
    for i in range(10):  # one host rotating through its /64
        assert attempt(http, client.client_id, "wrong",
                       address=f"2001:db8:1:2::{i + 1:x}").status_code == 401
    assert attempt(http, client.client_id, secret,
                   address="2001:db8:1:2:ffff:ffff:ffff:ffff").status_code == 429
    assert attempt(http, client.client_id, secret, address="2001:db8:1:3::1").status_code == 200


@override_settings(OAUTH_CC={"ISSUER": ISSUER, "TRUSTED_PROXIES": 1})
def test_unparseable_forwarded_values_count_as_the_proxy(http, oauth_client):
    client, secret = oauth_client
    for i in range(10):
        assert attempt(http, client.client_id, "wrong", address="10.0.0.1",
                       HTTP_X_FORWARDED_FOR=f"garbage-{i}").status_code == 401
    assert attempt(http, client.client_id, secret, address="10.0.0.1",
                   HTTP_X_FORWARDED_FOR="010.000.000.001").status_code == 429
    # Real addresses behind the proxy keep their own counts.
    assert attempt(http, client.client_id, secret, address="10.0.0.1",
                   HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 200


# Counting is atomic: at most the limit's worth of secrets are checked, however many at once.

parallel = all_at_once


def test_any_client_id_text_counts_a_lone_surrogate_included():
    # Client ids reach the throttle from requests and from client assertions; JWS parsing
    # refuses a lone surrogate escape, and this keeps the counting total over str anyway.
    for client_id in ("\ud800", "\udfff"):
        for _ in range(10):
            with throttle.attempt(client_id, "192.0.2.1") as outcome:
                outcome.failed = True
        with pytest.raises(TooManyAttempts):
            throttle.check(client_id, "192.0.2.1")
    throttle.check("\udbff", "192.0.2.1")  # a third text is its own count


def test_parallel_wrong_secrets_check_at_most_the_limit(oauth_client, frozen_clock,
                                                        monkeypatch):
    client, _ = oauth_client
    state.clients.get(client.client_id, remember_missing=False)  # warm: no database needed
    checked = []

    def slow_wrong(secret, stored):
        checked.append(secret)
        time.sleep(0.05)  # all 30 arrive while the first ones are being checked
        return False, False

    monkeypatch.setattr(credentials, "check_secret", slow_wrong)
    statuses = parallel(30, lambda: attempt(HttpClient(), client.client_id, "wrong").status_code)
    assert len(checked) == 10
    assert sorted(statuses) == [401] * 10 + [429] * 20


def attempt_in_throttle(hold, *, failed, client_id="client-a", address="203.0.113.7"):
    """One attempt through the throttle API: "checked" (held ``hold`` seconds) or "refused"."""
    try:
        with throttle.attempt(client_id, address) as result:
            time.sleep(hold)
            result.failed = failed
    except TooManyAttempts:
        return "refused"
    return "checked"


def test_parallel_attempts_take_at_most_the_limit():
    outcomes = parallel(30, lambda: attempt_in_throttle(0.05, failed=True))
    assert outcomes.count("checked") == 10
    assert outcomes.count("refused") == 20


def test_parallel_successes_are_not_refused():
    # More at once than the limit: they wait for a slot, they are not refused.
    assert parallel(30, lambda: attempt_in_throttle(0.01, failed=False)) == ["checked"] * 30
    assert attempt_in_throttle(0, failed=False) == "checked"


def test_an_error_while_checking_is_not_a_failure():
    for _ in range(20):
        with pytest.raises(RuntimeError), throttle.attempt("client-a", "203.0.113.7"):
            raise RuntimeError("database down")
    assert attempt_in_throttle(0, failed=False) == "checked"


def test_a_warm_success_costs_three_cache_operations(monkeypatch):
    attempt_in_throttle(0, failed=False)  # opens the windows
    calls = []

    class Counting:
        def __getattr__(self, name):
            calls.append(name)
            return getattr(cache, name)

    monkeypatch.setattr(throttle, "shared_cache", Counting)
    assert attempt_in_throttle(0, failed=False) == "checked"
    # A slot taken and given back in the exact limit, one read of the two volume limits.
    assert sorted(calls) == ["decr", "get_many", "incr"]


def test_the_volume_limits_count_failures_of_many_clients(frozen_clock):
    with override_settings(OAUTH_CC={"ISSUER": ISSUER, "AUTH_FAILURES_PER_ADDRESS": 5}):
        for i in range(5):
            assert attempt_in_throttle(0, failed=True, client_id=f"client-{i}") == "checked"
        assert attempt_in_throttle(0, failed=False, client_id="client-9") == "refused"
        frozen_clock.advance(300)
        assert attempt_in_throttle(0, failed=False, client_id="client-9") == "checked"


def test_a_lost_window_start_blocks_for_a_whole_window(frozen_clock):
    for _ in range(10):
        attempt_in_throttle(0, failed=True)
    exact, volume = throttle._limits("client-a", "203.0.113.7")
    cache.delete_many([limit.start_key for limit in [exact, *volume]])
    frozen_clock.advance(100)
    with pytest.raises(TooManyAttempts) as refused:
        throttle.check("client-a", "203.0.113.7")
    assert refused.value.retry_after == 300


def test_a_slot_given_back_to_a_new_window_is_not_read_as_slots():
    assert throttle._split(3 * throttle.FAILURE + 2) == (3, 2)
    assert throttle._split(throttle.FAILURE - 1) == (1, -1)  # not (0, FAILURE - 1)
    assert throttle._split(-1) == (0, -1)


# The per-client cap across all addresses.

@override_settings(OAUTH_CC={"ISSUER": ISSUER, "AUTH_FAILURES_PER_CLIENT": 2,
                             "AUTH_FAILURES_PER_CLIENT_TOTAL": 4,
                             "AUTH_FAILURE_WINDOW_SECONDS": 60})
def test_past_its_total_a_client_is_refused_from_every_address(http, make_client,
                                                               frozen_clock):
    client, secret = make_client()
    other, other_secret = make_client()
    for address in ("192.0.2.1", "192.0.2.2"):
        for _ in range(2):
            assert attempt(http, client.client_id, "wrong", address=address).status_code == 401
    frozen_clock.advance(10)
    response = attempt(http, client.client_id, secret, address="198.51.100.9")
    assert response.status_code == 429
    assert response["Retry-After"] == "50"
    assert attempt(http, other.client_id, other_secret,
                   address="198.51.100.9").status_code == 200
    frozen_clock.advance(50)
    assert attempt(http, client.client_id, secret, address="198.51.100.9").status_code == 200


def test_the_total_defaults_to_1000_failures():
    assert oauth_cc_settings.AUTH_FAILURES_PER_CLIENT_TOTAL == 1000


@override_settings(OAUTH_CC={"ISSUER": ISSUER, "AUTH_FAILURES_PER_CLIENT": 2,
                             "AUTH_FAILURES_PER_CLIENT_TOTAL": 0})
def test_a_total_of_0_is_no_total(http, oauth_client):
    client, secret = oauth_client
    for i in range(20):
        for _ in range(2):
            attempt(http, client.client_id, "wrong", address=f"192.0.2.{i}")
    assert attempt(http, client.client_id, secret, address="198.51.100.9").status_code == 200
