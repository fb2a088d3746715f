"""Receivers that keep this process's caches in step with the database (oauth_cc/signals.py):
a change made here applies at once, not after STATE_TTL_SECONDS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db.models.signals import post_delete, post_save

from oauth_cc import audit, state
from oauth_cc.keyring import key_ring
from oauth_cc.models import Client, ClientRecord, Project, RevokedToken, Scope, SigningKey

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("oauth_cc_defaults")]

MakeClient = Callable[..., tuple[Client, str]]


def record(client: Client) -> ClientRecord:
    found = state.clients.get(client.client_id, remember_missing=True)
    assert found is not None
    return found


def held(client: Client) -> bool:
    return client.client_id in state.clients.records


@pytest.fixture
def events() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    received: list[tuple[str, dict[str, Any]]] = []

    def receiver(sender: Any, event: str, signal: Any, **fields: Any) -> None:
        received.append((event, fields))

    signals = [audit.client_deleted, audit.client_disabled, audit.client_enabled]
    for signal in signals:
        signal.connect(receiver, weak=False)
    yield received
    for signal in signals:
        signal.disconnect(receiver)


def test_the_receivers_are_connected():
    assert post_save.has_listeners(SigningKey) and post_delete.has_listeners(SigningKey)
    assert post_save.has_listeners(Client) and post_delete.has_listeners(Client)
    assert post_save.has_listeners(Project) and post_delete.has_listeners(Project)
    assert post_save.has_listeners(Scope) and post_delete.has_listeners(Scope)
    assert post_save.has_listeners(RevokedToken)


# Signing keys


def test_a_key_saved_here_makes_the_key_ring_reread(frozen_clock, django_assert_num_queries):
    key_ring.signing_key()
    with django_assert_num_queries(0):
        key_ring.signing_key()
    SigningKey.objects.get(state="next").save()
    with django_assert_num_queries(1):
        key_ring.signing_key()


# Clients


def test_a_client_disabled_here_is_seen_at_once(make_client: MakeClient, frozen_clock):
    client, _ = make_client()
    assert record(client).is_active
    client.is_active = False
    client.save()
    assert not record(client).is_active  # within STATE_TTL_SECONDS: no time has passed


def test_a_client_deleted_here_is_gone_at_once(make_client: MakeClient, frozen_clock):
    client, _ = make_client()
    record(client)
    client.delete()
    assert state.clients.get(client.client_id, remember_missing=True) is None


def test_a_client_is_forgotten_again_when_the_change_commits(
        make_client: MakeClient, django_capture_on_commit_callbacks):
    """Another thread may read the old row between the save and its commit."""
    client, _ = make_client()
    stale = record(client)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.is_active = False
        client.save()
        assert not held(client)
        state.clients.records.put(client.client_id, stale)  # that other thread's read
    assert held(client)
    for callback in callbacks:
        callback()
    assert not held(client)


def test_other_clients_are_kept(make_client: MakeClient, frozen_clock):
    client, _ = make_client()
    other, _ = make_client()
    record(client)
    record(other)
    client.name = "renamed"
    client.save()
    assert held(other) and not held(client)


def test_deleting_a_client_is_audited(make_client: MakeClient, events):
    client, _ = make_client(name="Acme")
    client_id, project_id = client.client_id, client.project_id
    client.delete()
    assert events == [("client_deleted", {"client_id": client_id, "project_id": project_id,
                                          "name": "Acme", "actor": None})]


def test_deleting_a_project_audits_each_of_its_clients(make_client: MakeClient, events):
    first, _ = make_client()
    second, _ = make_client(project=first.project)
    first.project.delete()
    assert sorted((event, fields["client_id"]) for event, fields in events) == sorted(
        [("client_deleted", first.client_id), ("client_deleted", second.client_id)])


def test_a_change_of_is_active_is_audited_once(make_client: MakeClient, events):
    client, _ = make_client()
    client.is_active = False
    client.save()
    client.save()  # nothing changed since
    client.name = "renamed"
    client.save()
    client.is_active = True
    client.save()
    assert [event for event, _ in events] == ["client_disabled", "client_enabled"]
    assert events[0][1]["client_id"] == client.client_id


def test_creating_a_disabled_client_is_not_a_disabling(make_client: MakeClient, events):
    make_client(is_active=False)
    assert events == []


# Projects


def test_a_project_disabled_here_affects_its_clients_at_once(make_client: MakeClient,
                                                             frozen_clock):
    client, _ = make_client()
    other, _ = make_client()
    assert client.project_id != other.project_id
    assert record(client).project_is_active and record(other).project_is_active
    client.project.set_active(False)
    assert not held(client) and held(other)
    assert not record(client).project_is_active


def test_a_project_deleted_here_takes_its_clients_at_once(make_client: MakeClient,
                                                          frozen_clock):
    client, _ = make_client()
    record(client)
    client.project.delete()
    assert state.clients.get(client.client_id, remember_missing=True) is None


# Scopes


def test_scopes_changed_from_the_client_side(make_client: MakeClient, scopes, frozen_clock):
    client, _ = make_client(scope_names=("address",))
    other, _ = make_client()
    record(client)
    record(other)
    client.scopes.add(scopes["email"])
    assert held(other)
    assert set(record(client).scopes) == {"address", "email"}
    client.scopes.remove(scopes["address"])
    assert set(record(client).scopes) == {"email"}
    client.scopes.clear()
    assert record(client).scopes == ()


def test_scopes_changed_from_the_scope_side(make_client: MakeClient, scopes, frozen_clock):
    client, _ = make_client(scope_names=("address",))
    record(client)
    scopes["email"].clients.add(client)
    assert set(record(client).scopes) == {"address", "email"}


@pytest.mark.parametrize("change", ["rename", "delete"])
def test_a_scope_renamed_or_deleted_here(make_client: MakeClient, scopes, frozen_clock, change):
    client, _ = make_client(scope_names=("address", "phone"))
    assert set(record(client).scopes) == {"address", "phone"}
    if change == "rename":
        scopes["phone"].name = "telephone"
        scopes["phone"].save()
        assert set(record(client).scopes) == {"address", "telephone"}
    else:
        scopes["phone"].delete()
        assert record(client).scopes == ("address",)


# Revocations


def test_a_token_revoked_here_is_refused_at_once(frozen_clock, django_assert_num_queries):
    assert not state.revocations.is_revoked("jti-1")  # the revocations are read
    RevokedToken.objects.revoke(jti="jti-1", client_id="c", expires_at=frozen_clock() + 60)
    with django_assert_num_queries(0):
        assert state.revocations.is_revoked("jti-1")
        assert not state.revocations.is_revoked("jti-2")


def test_a_revocation_here_lasts_until_its_token_expires(frozen_clock):
    leeway = 30  # LEEWAY_SECONDS, by default
    RevokedToken.objects.revoke(jti="jti-1", client_id="c", expires_at=frozen_clock() + 60)
    RevokedToken.objects.all().delete()  # gone from the table: memory alone remembers it
    frozen_clock.advance(60 + leeway - 0.01)
    assert "jti-1" in state.revocations.revoked
    frozen_clock.advance(0.01)
    assert "jti-1" not in state.revocations.revoked

