"""Clients and their secrets: generation, hashing, verification, regeneration."""

from __future__ import annotations

import re

import pytest

from oauth_cc import credentials
from oauth_cc.models import Client, Project, UnknownScopes
from tests.helpers import token_request

pytestmark = pytest.mark.django_db
UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")


def test_create_client_returns_the_plain_secret_once_and_stores_a_hash(scopes):
    client, secret = Client.objects.create_client("Acme", scopes=["address"])
    assert UNRESERVED.fullmatch(client.client_id)
    assert UNRESERVED.fullmatch(secret)
    assert len(secret) >= 43  # 256 bits in base64url
    client.refresh_from_db()
    assert secret not in client.secret_hash
    assert client.secret_hash.startswith("hmac-sha256$")
    assert client.project.name == "Acme"
    assert list(client.scopes.values_list("name", flat=True)) == ["address"]
    for text in (str(client), repr(client)):
        assert secret not in text and client.secret_hash not in text


def test_ids_and_secrets_are_unique(scopes):
    made = [Client.objects.create_client(f"c{i}") for i in range(20)]
    assert len({c.client_id for c, _ in made}) == 20
    assert len({s for _, s in made}) == 20


def test_create_client_in_an_existing_project(scopes):
    project = Project.objects.create(name="Existing")
    client, _ = Client.objects.create_client("api", project=project)
    assert client.project == project
    assert Project.objects.count() == 1


def test_unknown_scopes_create_nothing(scopes):
    with pytest.raises(UnknownScopes) as raised:
        Client.objects.create_client("Acme", scopes=["address", "nope", "other"])
    assert raised.value.names == ["nope", "other"]
    assert not Client.objects.exists()
    assert not Project.objects.exists()


def test_record_reads_a_client_in_one_query(oauth_client, django_assert_num_queries):
    client, _ = oauth_client
    with django_assert_num_queries(1):
        record = Client.objects.record(client.client_id)
    assert record is not None
    assert record.scopes == ("address", "phone")
    assert record.project_id == client.project_id
    assert record.is_active
    assert record.project_is_active
    assert Client.objects.record("unknown") is None


def test_records_read_many_clients_in_one_query(make_client, django_assert_num_queries):
    made = [make_client(scope_names=("address",) * (i % 2))[0] for i in range(5)]
    with django_assert_num_queries(1):
        records = Client.objects.records([c.client_id for c in made] + ["unknown"])
    assert set(records) == {c.client_id for c in made}
    assert [records[c.client_id].scopes for c in made] == [(), ("address",)] * 2 + [()]


def test_a_record_checks_the_previous_secret_without_the_database(
        oauth_client, frozen_clock, django_assert_num_queries):
    client, old = oauth_client
    new = client.regenerate_secret(grace_seconds=60)
    record = Client.objects.record(client.client_id)
    with django_assert_num_queries(0):
        assert record.check_secret(new) == (True, False)
        assert record.check_secret(old) == (True, False)
        assert record.check_secret("wrong") == (False, False)
        frozen_clock.advance(60)
        assert record.check_secret(old) == (False, False)
        assert record.check_secret(new) == (True, False)
    assert "secret" not in repr(record) and old not in repr(record)


def test_issue_credentials_saves_a_new_client_once(scopes):
    client = Client(name="Acme")
    secret = client.issue_credentials(["address", scopes["phone"]])
    assert client.pk is not None and client.project.name == "Acme"
    assert credentials.check_secret(secret, client.secret_hash)[0]
    assert sorted(client.scopes.values_list("name", flat=True)) == ["address", "phone"]
    with pytest.raises(ValueError, match="regenerate"):
        client.issue_credentials()
    with pytest.raises(UnknownScopes):
        Client(name="Other").issue_credentials(["nope"])
    assert Client.objects.count() == 1 and Project.objects.count() == 1


def test_record_of_a_client_without_scopes(make_client):
    client, _ = make_client(scope_names=())
    record = Client.objects.record(client.client_id)
    assert record is not None and record.scopes == ()


def test_check_secret():
    secret = credentials.generate_client_secret()
    stored = credentials.hash_secret(secret)
    assert credentials.check_secret(secret, stored) == (True, False)
    assert credentials.check_secret(secret + "x", stored) == (False, False)
    assert credentials.check_secret(secret[:-1], stored) == (False, False)
    assert credentials.check_secret("", stored) == (False, False)
    assert credentials.check_secret(secret, "") == (False, False)
    assert credentials.check_secret("a" * 10_000, stored) == (False, False)


def test_comparison_is_constant_time(monkeypatch):
    """The digest comparison goes through hmac.compare_digest, never ==."""
    seen = []
    real = credentials.hmac.compare_digest

    def spy(a, b):
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(credentials.hmac, "compare_digest", spy)
    stored = credentials.hash_secret("s")
    credentials.check_secret("s", stored)
    assert seen and seen[0][1] == stored


def test_secret_key_rotation_keeps_secrets_valid_and_rehashes(settings, oauth_client, client):
    db_client, secret = oauth_client
    old_hash = db_client.secret_hash
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "rotated-secret-key-" + "z" * 40
    assert token_request(client, db_client.client_id, secret).status_code == 200
    db_client.refresh_from_db()
    assert db_client.secret_hash != old_hash  # re-hashed under the new key
    settings.SECRET_KEY_FALLBACKS = []
    assert token_request(client, db_client.client_id, secret).status_code == 200


def test_dedicated_secret_hash_keys(settings, scopes):
    settings.OAUTH_CC = {"ISSUER": "https://issuer.test", "SECRET_HASH_KEYS": ["h" * 40]}
    _, secret = Client.objects.create_client("x")
    stored = Client.objects.get().secret_hash
    settings.SECRET_KEY = "does-not-matter-" + "q" * 40
    assert credentials.check_secret(secret, stored) == (True, False)


def test_regenerate_secret_invalidates_the_old_one_at_once(http, oauth_client):
    client, old = oauth_client
    new = client.regenerate_secret()
    assert new != old
    assert token_request(http, client.client_id, old).status_code == 401
    assert token_request(http, client.client_id, new).status_code == 200


def test_regenerate_secret_with_a_grace_period(http, oauth_client, frozen_clock):
    client, old = oauth_client
    new = client.regenerate_secret(grace_seconds=60)
    assert token_request(http, client.client_id, old).status_code == 200
    assert token_request(http, client.client_id, new).status_code == 200
    frozen_clock.advance(60)
    assert token_request(http, client.client_id, old).status_code == 401
    assert token_request(http, client.client_id, new).status_code == 200


def test_grace_period_default_comes_from_settings(settings, http, oauth_client):
    settings.OAUTH_CC = {"ISSUER": "https://issuer.test", "SECRET_ROTATION_GRACE_SECONDS": 30}
    client, old = oauth_client
    client.regenerate_secret()
    assert token_request(http, client.client_id, old).status_code == 200
