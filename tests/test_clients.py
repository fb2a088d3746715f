"""Clients and their credentials: secrets (generation, hashing, verification, regeneration)
and private_key_jwt keys (registering, switching methods)."""

from __future__ import annotations

import json
import logging
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from oauth_cc import audit, credentials, state
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


# private_key_jwt: a client with keys and no secret


def a_jwk_set(kind="EC", kid="k1"):
    from tests.test_client_assertion import private_key, public_jwk

    return {"keys": [public_jwk(private_key(kind), kid)]}


def test_create_secretless_client(scopes):
    jwks = a_jwk_set()
    client = Client.objects.create_secretless_client("Acme", scopes=["address"], jwks=jwks)
    client.refresh_from_db()
    assert client.auth_method == Client.AuthMethod.PRIVATE_KEY_JWT == "private_key_jwt"
    assert client.uses_private_key_jwt
    assert client.jwks == jwks
    assert client.jwks_uri == ""
    assert client.secret_hash == client.previous_secret_hash == ""
    assert UNRESERVED.fullmatch(client.client_id)
    assert client.project.name == "Acme"
    assert list(client.scopes.values_list("name", flat=True)) == ["address"]
    record = Client.objects.record(client.client_id)
    assert record is not None and record.uses_private_key_jwt
    assert record.check_secret("") == (False, False)


def test_create_secretless_client_with_a_jwks_uri(scopes):
    project = Project.objects.create(name="Existing")
    client = Client.objects.create_secretless_client(
        "api", project=project, jwks_uri="https://client.example/jwks.json")
    client.refresh_from_db()
    assert (client.project, client.jwks, client.jwks_uri) == (
        project, None, "https://client.example/jwks.json")
    record = Client.objects.record(client.client_id)
    assert record is not None
    assert (record.auth_method, record.jwks, record.jwks_uri) == (
        "private_key_jwt", "", "https://client.example/jwks.json")


@pytest.mark.parametrize(("registration", "text"), [
    ({}, "exactly one"),
    ({"jwks": {"keys": []}, "jwks_uri": "https://client.example/jwks"}, "exactly one"),
    ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, "symmetric"),
    ({"jwks_uri": "http://client.example/jwks"}, "https"),
])
def test_create_secretless_client_refuses_bad_keys_and_creates_nothing(scopes, registration,
                                                                       text):
    with pytest.raises(ValidationError) as raised:
        Client.objects.create_secretless_client("Acme", **registration)
    assert text in " ".join(raised.value.messages)
    assert not Client.objects.exists()
    assert not Project.objects.exists()


def test_create_secretless_client_with_unknown_scopes_creates_nothing(scopes):
    with pytest.raises(UnknownScopes):
        Client.objects.create_secretless_client("Acme", scopes=["nope"], jwks=a_jwk_set())
    assert not Client.objects.exists()


def test_a_record_carries_the_jwk_set_as_canonical_text(scopes, django_assert_num_queries):
    jwks = a_jwk_set()
    client = Client.objects.create_secretless_client("Acme", jwks=jwks)
    with django_assert_num_queries(1):
        record = Client.objects.record(client.client_id)
    assert record is not None
    assert record.jwks == json.dumps(jwks, sort_keys=True, separators=(",", ":"))
    hash(record)  # still a value


def test_switching_to_private_key_jwt_removes_the_secret_hashes(http, oauth_client, settings):
    settings.OAUTH_CC = {"ISSUER": "https://issuer.test", "SECRET_ROTATION_GRACE_SECONDS": 600}
    client, old = oauth_client
    new = client.regenerate_secret()  # the old one is still in its grace period
    assert token_request(http, client.client_id, new).status_code == 200  # cached here
    jwks = a_jwk_set()
    client.use_private_key_jwt(jwks=jwks)
    client.refresh_from_db()
    assert (client.secret_hash, client.previous_secret_hash) == ("", "")
    assert client.previous_secret_expires_at is None
    assert (client.auth_method, client.jwks, client.jwks_uri) == ("private_key_jwt", jwks, "")
    for secret in (old, new):  # at once, in this worker too: the record was forgotten
        response = token_request(http, client.client_id, secret)
        assert response.status_code == 401
        assert "private_key_jwt" in response.json()["error_description"]


def test_switching_is_audited(oauth_client, caplog):
    caplog.set_level(logging.INFO, logger="oauth_cc")
    received = []

    def receiver(sender, event, **fields):
        received.append((event, fields))

    audit.client_updated.connect(receiver, weak=False)
    try:
        client, _ = oauth_client
        client.use_private_key_jwt(jwks_uri="https://client.example/jwks")
        client.use_private_key_jwt(jwks=a_jwk_set())
        client.use_client_secret()
    finally:
        audit.client_updated.disconnect(receiver)
    assert [fields["fields"] for _, fields in received] == [
        ["auth_method", "jwks_uri"], ["jwks", "jwks_uri"], ["auth_method", "jwks"]]


@pytest.mark.parametrize(("registration", "text"), [
    ({}, "exactly one"),
    ({"jwks": "{not json"}, "JSON"),
    ({"jwks": {"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB", "d": "AQAB"}]}}, "private"),
    ({"jwks_uri": "ftp://client.example/jwks"}, "https"),
])
def test_switching_with_bad_keys_changes_nothing(http, oauth_client, registration, text):
    client, secret = oauth_client
    with pytest.raises(ValidationError) as raised:
        client.use_private_key_jwt(**registration)
    assert text in " ".join(raised.value.messages)
    client.refresh_from_db()
    assert client.auth_method == "client_secret"
    assert credentials.check_secret(secret, client.secret_hash)[0]
    assert token_request(http, client.client_id, secret).status_code == 200


def test_replacing_the_keys_of_a_private_key_jwt_client(scopes):
    client = Client.objects.create_secretless_client("Acme", jwks=a_jwk_set(kid="old"))
    client.use_private_key_jwt(jwks_uri="https://client.example/jwks")
    client.refresh_from_db()
    assert (client.jwks, client.jwks_uri) == (None, "https://client.example/jwks")
    client.use_private_key_jwt(jwks=a_jwk_set(kid="new"))
    client.refresh_from_db()
    assert (client.jwks["keys"][0]["kid"], client.jwks_uri) == ("new", "")


def test_switching_back_to_a_secret(http, scopes):
    client = Client.objects.create_secretless_client("Acme", scopes=["address"],
                                                     jwks=a_jwk_set())
    secret = client.use_client_secret()
    client.refresh_from_db()
    assert (client.auth_method, client.jwks, client.jwks_uri) == ("client_secret", None, "")
    assert credentials.check_secret(secret, client.secret_hash) == (True, False)
    assert token_request(http, client.client_id, secret).status_code == 200


def test_a_private_key_jwt_client_has_no_secret_to_regenerate(scopes):
    client = Client.objects.create_secretless_client("Acme", jwks=a_jwk_set())
    with pytest.raises(ValueError, match="use_client_secret"):
        client.regenerate_secret()
    client.refresh_from_db()
    assert client.secret_hash == ""


def test_the_methods_are_for_new_or_saved_clients_as_named(oauth_client):
    client, _ = oauth_client
    with pytest.raises(ValueError):
        client.issue_secretless(jwks=a_jwk_set())
    with pytest.raises(ValueError):
        Client(name="unsaved").use_private_key_jwt(jwks=a_jwk_set())


@pytest.mark.parametrize("change", [
    {"auth_method": "private_key_jwt"},  # keys missing, secret kept
    {"jwks_uri": "https://client.example/jwks"},  # keys on a secret client
    {"auth_method": "private_key_jwt", "secret_hash": "",
     "jwks_uri": "https://client.example/jwks", "previous_secret_hash": "x"},
    {"auth_method": "something else"},
])
def test_the_database_refuses_a_client_with_two_ways_or_none(oauth_client, change):
    client, _ = oauth_client
    with pytest.raises(IntegrityError), transaction.atomic():
        Client.objects.filter(pk=client.pk).update(**change)


def test_the_database_refuses_a_secretless_client_with_both_kinds_of_keys(scopes):
    client = Client.objects.create_secretless_client("Acme", jwks=a_jwk_set())
    with pytest.raises(IntegrityError), transaction.atomic():
        Client.objects.filter(pk=client.pk).update(jwks_uri="https://client.example/jwks")


def test_full_clean_validates_the_keys(oauth_client):
    client, _ = oauth_client
    client.full_clean()
    client.jwks = {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}
    client.jwks_uri = "http://client.example/jwks"
    with pytest.raises(ValidationError) as raised:
        client.full_clean()
    assert set(raised.value.message_dict) >= {"jwks", "jwks_uri"}


def test_switching_forgets_the_cached_record(oauth_client):
    client, _ = oauth_client
    assert state.clients.get(client.client_id, remember_missing=False).auth_method == \
        "client_secret"
    client.use_private_key_jwt(jwks=a_jwk_set())
    assert state.clients.get(client.client_id, remember_missing=False).auth_method == \
        "private_key_jwt"
