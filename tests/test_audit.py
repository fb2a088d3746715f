"""The audit trail: a signal and a structured log record per event, never a secret."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from oauth_cc import audit
from oauth_cc.models import Client, SigningKey
from oauth_cc.testing import mint_token
from tests.helpers import post_form, token_request

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def events(caplog):
    caplog.set_level(logging.INFO, logger="oauth_cc")
    received = []

    def receiver(sender, event, **fields):
        received.append((event, fields))

    signals = [audit.token_issued, audit.client_authentication_failed, audit.token_revoked,
               audit.client_created, audit.client_disabled, audit.client_enabled,
               audit.client_secret_regenerated, audit.signing_key_rotated,
               audit.signing_key_retired]
    for signal in signals:
        signal.connect(receiver, weak=False)
    yield received
    for signal in signals:
        signal.disconnect(receiver)


def names(received):
    return [event for event, _ in received]


def test_lifecycle_events(http, scopes, events, caplog):
    client, secret = Client.objects.create_client("Acme", scopes=["address"])
    body = token_request(http, client.client_id, secret).json()
    token_request(http, client.client_id, "wrong-guess")
    post_form(http, "/oauth/revoke", {"token": body["access_token"],
                                      "client_id": client.client_id, "client_secret": secret})
    new_secret = client.regenerate_secret()
    client.is_active = False
    client.save()
    client.is_active = True
    client.save()
    client.name = "renamed"
    client.save()  # not an audit event
    SigningKey.objects.rotate()
    assert names(events) == [
        "client_created", "token_issued", "client_authentication_failed", "token_revoked",
        "client_secret_regenerated", "client_disabled", "client_enabled",
        "signing_key_rotated", "signing_key_retired",
    ]
    fields = dict(events)
    assert fields["token_issued"]["client_id"] == client.client_id
    assert fields["token_issued"]["scope"] == "address"
    assert fields["token_issued"]["token_type"] == "Bearer"
    assert fields["client_authentication_failed"]["reason"] == "wrong_secret"
    assert fields["client_authentication_failed"]["remote_addr"] == "127.0.0.1"
    assert fields["token_revoked"]["jti"] == fields["token_issued"]["jti"]

    records = [r for r in caplog.records if r.name == "oauth_cc" and hasattr(r, "oauth_cc")]
    assert [r.oauth_cc["event"] for r in records] == names(events)
    failed = next(r for r in records if r.oauth_cc["event"] == "client_authentication_failed")
    assert failed.levelno == logging.WARNING
    everything = caplog.text + repr([r.oauth_cc for r in records])
    for secret_text in (secret, new_secret, "wrong-guess", body["access_token"],
                        client.secret_hash):
        assert secret_text not in everything


def test_disabling_from_a_fresh_instance_is_audited(scopes, events):
    client, _ = Client.objects.create_client("Acme")
    loaded = Client.objects.get(pk=client.pk)
    loaded.is_active = False
    loaded.save()
    assert names(events) == ["client_created", "client_disabled"]


def test_last_used_at_is_written_at_most_once_a_minute(http, oauth_client, frozen_clock,
                                                       django_assert_num_queries):
    client, secret = oauth_client
    token_request(http, client.client_id, secret)
    client.refresh_from_db()
    first = client.last_used_at
    assert first is not None
    frozen_clock.advance(59)
    token_request(http, client.client_id, secret)
    client.refresh_from_db()
    assert client.last_used_at == first
    frozen_clock.advance(1)
    token_request(http, client.client_id, secret)
    client.refresh_from_db()
    assert client.last_used_at == first + timedelta(seconds=60)


def test_verification_writes_nothing(http, oauth_client, django_assert_num_queries):
    client, _ = oauth_client
    token = mint_token(client)
    assert http.get("/api/address", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    with django_assert_num_queries(0):
        assert http.get("/api/address", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_a_forged_client_id_cannot_forge_log_lines(http, scopes, caplog):
    caplog.set_level(logging.INFO, logger="oauth_cc")
    token_request(http, "evil\nINFO token_issued client_id=victim", "x")
    record = next(r for r in caplog.records if getattr(r, "oauth_cc", {}).get("event")
                  == "client_authentication_failed")
    assert "\n" not in record.getMessage()
    assert record.oauth_cc["client_id"].startswith("evil\n")
