"""oauth_cc.client against the real token endpoint and protected APIs, over HTTP on loopback.

The server counts what it issues through the ``oauth_cc.audit.token_issued`` signal, so "no
request was made" is the server's word, not the client's. The client's clock is a frozen one
handed to ``TokenClient``; the server keeps real time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests
from django.test import override_settings
from pytest_django.live_server_helper import LiveServer

from oauth_cc import audit, clock
from oauth_cc.client import TokenClient, TokenError
from oauth_cc.models import Client
from tests.conftest import T0
from tests.test_client import ADAPTERS, send

SEED_RENDERER = "demo_project.addresses.errors.seed_error"


@pytest.fixture
def token_url(live_server: LiveServer) -> str:
    return live_server.url + "/oauth/token"


@pytest.fixture
def issued() -> Iterator[list[dict[str, Any]]]:
    """Every token the server issues during the test, as the audit signal reports it."""
    events: list[dict[str, Any]] = []

    def receiver(sender: object, **fields: Any) -> None:
        events.append(fields)

    audit.token_issued.connect(receiver)
    yield events
    audit.token_issued.disconnect(receiver)


@pytest.fixture
def fake_clock() -> clock.FrozenClock:
    return clock.FrozenClock(T0)


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_gets_a_token_with_either_auth_method(
    token_url: str, oauth_client: tuple[Client, str], issued: list[dict[str, Any]],
    auth_method: str,
) -> None:
    client, secret = oauth_client
    tokens = TokenClient(token_url, client.client_id, secret, scope="address", expires_in=120,
                         auth_method=auth_method)

    claims = jwt.decode(tokens.get_token(), options={"verify_signature": False})

    assert (claims["client_id"], claims["scope"]) == (client.client_id, "address")
    assert claims["exp"] - claims["iat"] == 120
    assert [event["jti"] for event in issued] == [claims["jti"]]


def test_reuses_the_token_and_refreshes_exactly_at_the_margin(
    token_url: str, oauth_client: tuple[Client, str], issued: list[dict[str, Any]],
    fake_clock: clock.FrozenClock,
) -> None:
    client, secret = oauth_client
    tokens = TokenClient(token_url, client.client_id, secret, clock=fake_clock)  # 900 s, 60 s

    first = tokens.get_token()
    assert tokens.get_token() == first
    fake_clock.set(T0 + 840 - 0.001)
    assert tokens.get_token() == first
    assert len(issued) == 1

    fake_clock.set(T0 + 840)
    second = tokens.get_token()
    assert second != first
    assert tokens.get_token() == second
    assert len(issued) == 2


def test_eight_threads_at_once_cause_one_token_request(
    token_url: str, oauth_client: tuple[Client, str], issued: list[dict[str, Any]],
) -> None:
    client, secret = oauth_client
    tokens = TokenClient(token_url, client.client_id, secret)
    barrier = threading.Barrier(8)
    results: list[str] = []

    def ask() -> None:
        barrier.wait()
        results.append(tokens.get_token())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 8
    assert len(set(results)) == 1
    assert len(issued) == 1


@pytest.mark.parametrize(("change", "error", "status"), [
    ({"secret": "wrong-secret"}, "invalid_client", 401),
    ({"auth_method": "client_secret_post", "secret": "wrong-secret"}, "invalid_client", 401),
    ({"scope": "address unknown"}, "invalid_scope", 400),
    ({"scope": "email"}, "invalid_scope", 400),  # exists, not permitted for this client
    ({"expires_in": 7200}, "invalid_request", 400),
])
def test_server_errors_are_token_errors_without_the_secret(
    token_url: str, oauth_client: tuple[Client, str], caplog: pytest.LogCaptureFixture,
    change: dict[str, Any], error: str, status: int,
) -> None:
    client, secret = oauth_client
    sent_secret = change.pop("secret", secret)
    tokens = TokenClient(token_url, client.client_id, sent_secret, **change)

    with caplog.at_level(logging.DEBUG), pytest.raises(TokenError) as caught:
        tokens.get_token()

    assert (caught.value.error, caught.value.status) == (error, status)
    assert caught.value.error_description
    for text in (repr(tokens), str(caught.value), repr(caught.value), caplog.text):
        assert sent_secret not in text
        assert secret not in text


def test_a_failed_refresh_returns_the_valid_token_and_logs(
    token_url: str, oauth_client: tuple[Client, str], fake_clock: clock.FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, secret = oauth_client
    tokens = TokenClient(token_url, client.client_id, secret, clock=fake_clock)
    first = tokens.get_token()
    client.is_active = False
    client.save()
    fake_clock.set(T0 + 840)

    with caplog.at_level(logging.WARNING, logger="oauth_cc.client"):
        assert tokens.get_token() == first
    messages = [r.getMessage() for r in caplog.records if r.name == "oauth_cc.client"]
    assert len(messages) == 1
    assert "invalid_client" in messages[0]
    assert secret not in caplog.text

    fake_clock.set(T0 + 900)
    with pytest.raises(TokenError) as caught:
        tokens.get_token()
    assert (caught.value.error, caught.value.status) == ("invalid_client", 401)


@pytest.mark.parametrize("kind", ADAPTERS)
@pytest.mark.parametrize(("renderer", "rejected_status"), [
    (None, 401),  # RFC 6750: 401 with error="invalid_token"
    (SEED_RENDERER, 400),  # the seed's format: 400 with "error_code": "1024"
], ids=["rfc6750", "seed"])
def test_adapters_get_a_new_token_when_the_api_rejects_the_old_one(
    live_server: LiveServer, token_url: str, oauth_client: tuple[Client, str],
    issued: list[dict[str, Any]], kind: str, renderer: str | None, rejected_status: int,
) -> None:
    client, secret = oauth_client
    tokens = TokenClient(token_url, client.client_id, secret, scope="address")
    api = live_server.url + "/api/address"
    settings = {"ISSUER": "https://issuer.test"}
    if renderer:
        settings["ERROR_RENDERER"] = renderer

    with override_settings(OAUTH_CC=settings):
        assert send(kind, tokens, "GET", api) == (200, [])
        revoked = requests.post(live_server.url + "/oauth/revoke", timeout=5,
                                data={"token": tokens.get_token()}, auth=(client.client_id, secret))
        assert revoked.status_code == 200

        assert send(kind, tokens, "GET", api) == (200, [rejected_status])
        assert send(kind, tokens, "GET", api) == (200, [])

    assert len(issued) == 2


def test_a_client_that_cannot_get_a_new_token_gets_the_error(
    live_server: LiveServer, token_url: str, oauth_client: tuple[Client, str],
) -> None:
    client, secret = oauth_client
    tokens = TokenClient(token_url, client.client_id, secret)
    assert send("requests", tokens, "GET", live_server.url + "/api/address") == (200, [])
    client.is_active = False  # its tokens are now invalid, and it gets no new one
    client.save()

    with pytest.raises(TokenError, match="invalid_client"):
        send("requests", tokens, "GET", live_server.url + "/api/address")
