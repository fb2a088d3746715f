"""Every change made in the portal (HTML or JSON) or the admin is an audit event naming the
acting user; commands and code outside a request name nobody (CONTRACT.md §10)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client as HttpClient

from oauth_cc import audit
from oauth_cc.models import Client, Scope
from tests.portal_support import (
    World,
    alice_http,
    api_client_url,
    api_clients_url,
    client_url,
    credentials_url,
    logged_in,
    shown_client_id,
    shown_secret,
    world,
)

__all__ = ["alice_http", "world"]  # fixtures

CLIENT_SIGNALS = [audit.client_created, audit.client_updated, audit.client_disabled,
                  audit.client_enabled, audit.client_secret_regenerated, audit.client_deleted]


@pytest.fixture
def events(caplog: pytest.LogCaptureFixture) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    caplog.set_level(logging.INFO, logger="oauth_cc")
    received: list[tuple[str, dict[str, Any]]] = []

    def receiver(sender: Any, event: str, **fields: Any) -> None:
        received.append((event, fields))

    for signal in CLIENT_SIGNALS:
        signal.connect(receiver, weak=False)
    yield received
    for signal in CLIENT_SIGNALS:
        signal.disconnect(receiver)


def test_the_portal_pages_name_the_user(alice_http: HttpClient, world: World,
                                        scopes: dict[str, Scope], events: list[Any],
                                        caplog: pytest.LogCaptureFixture) -> None:
    made = alice_http.post(credentials_url(world.acme) + "create/",
                           {"name": "App", "scopes": [scopes["address"].pk]})
    client_id = shown_client_id(made)
    regenerated = alice_http.post(client_url(world.acme, client_id, "regenerate"))
    for action in ("disable", "enable", "delete"):
        alice_http.post(client_url(world.acme, client_id, action))

    assert [(event, fields["actor"]) for event, fields in events] == [
        ("client_created", "alice"), ("client_secret_regenerated", "alice"),
        ("client_disabled", "alice"), ("client_enabled", "alice"),
        ("client_deleted", "alice")]
    assert {fields["client_id"] for _, fields in events} == {client_id}
    records = [r.oauth_cc for r in caplog.records if hasattr(r, "oauth_cc")]
    assert [(r["event"], r["actor"]) for r in records] == [
        (event, fields["actor"]) for event, fields in events]
    assert "actor='alice'" in caplog.text
    for secret in (shown_secret(made), shown_secret(regenerated)):
        assert secret not in caplog.text + repr(records)


def test_the_portal_api_names_the_user(alice_http: HttpClient, world: World,
                                       events: list[Any]) -> None:
    def send(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        return alice_http.generic(method, url, json.dumps(body or {}),
                                  content_type="application/json")

    client_id = send("POST", api_clients_url(world.acme),
                     {"name": "App", "scopes": ["address"]}).json()["client_id"]
    url = api_client_url(world.acme, client_id)
    send("PATCH", url, {"name": "Renamed", "scopes": ["address", "phone"], "is_active": False})
    send("PATCH", url, {"name": "Renamed"})  # no change: no event
    send("POST", url + "regenerate/")
    send("DELETE", url)

    assert [(event, fields["actor"]) for event, fields in events] == [
        ("client_created", "alice"), ("client_updated", "alice"),
        ("client_disabled", "alice"), ("client_secret_regenerated", "alice"),
        ("client_deleted", "alice")]
    updated = dict(events)["client_updated"]
    assert updated["fields"] == ["name", "scopes"]
    assert updated["project_id"] == world.acme.pk


def test_the_admin_names_the_staff_user(world: World, scopes: dict[str, Scope],
                                        events: list[Any]) -> None:
    root = User.objects.create_superuser("root", "root@example.com", "pw")
    admin = logged_in(root)
    client = world.acme_client
    admin.post(f"/admin/oauth_cc/client/{client.pk}/regenerate-secret/")
    admin.post(f"/admin/oauth_cc/client/{client.pk}/change/", {
        "name": "Renamed by staff", "project": client.project_id,
        "scopes": [scopes["email"].pk]})  # staff may give any scope; is_active off
    admin.post("/admin/oauth_cc/client/", {"action": "enable_clients", "index": "0",
                                           "_selected_action": [client.pk]})
    admin.post(f"/admin/oauth_cc/project/{world.acme.pk}/delete/", {"post": "yes"})

    assert [(event, fields["actor"]) for event, fields in events] == [
        ("client_secret_regenerated", "root"), ("client_disabled", "root"),
        ("client_updated", "root"), ("client_enabled", "root"), ("client_deleted", "root")]
    assert dict(events)["client_updated"]["fields"] == ["name", "scopes"]
    assert not Client.objects.filter(pk=client.pk).exists()


def test_commands_and_code_name_nobody(scopes: dict[str, Scope], events: list[Any]) -> None:
    call_command("create_oauth_client", "Partner", "--scopes", "address", stdout=StringIO())
    client = Client.objects.get()
    client.regenerate_secret()
    client.delete()
    assert [(event, fields["actor"]) for event, fields in events] == [
        ("client_created", None), ("client_secret_regenerated", None),
        ("client_deleted", None)]


def test_acting_names_a_user_a_string_or_nobody(db: None) -> None:
    from django.contrib.auth.models import AnonymousUser

    user = User.objects.create_user("carol")
    for actor, name in ((user, "carol"), ("cron", "cron"), (None, None),
                        (AnonymousUser(), None)):
        with audit.acting(actor):
            assert audit.current_actor() == name
    assert audit.current_actor() is None


def test_require_dpop_changes_are_audited_as_client_updated(
        alice_http: HttpClient, world: World, events: list[Any]) -> None:
    client_id = world.acme_client.client_id
    alice_http.post(client_url(world.acme, client_id, "require-dpop"))
    alice_http.post(client_url(world.acme, client_id, "require-dpop"))  # no change: no event
    alice_http.generic("PATCH", api_client_url(world.acme, client_id),
                       json.dumps({"require_dpop": False}), content_type="application/json")

    assert [(event, fields["actor"], fields["fields"]) for event, fields in events] == [
        ("client_updated", "alice", ["require_dpop"]),
        ("client_updated", "alice", ["require_dpop"])]
    assert {fields["client_id"] for _, fields in events} == {client_id}
