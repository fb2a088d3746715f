"""The customer portal's pages (CONTRACT.md §10): the projects list, the Credentials page, and
creating, regenerating, disabling, enabling and deleting clients, without JavaScript."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client as HttpClient
from django.test import override_settings

from oauth_cc import clock
from oauth_cc.credentials import HASH_PREFIX, check_secret
from oauth_cc.models import Client, Project, Scope
from oauth_cc.testing import bearer, mint_token
from tests.helpers import token_request
from tests.portal_support import (
    PORTAL,
    World,
    alice_http,
    assert_secret_kept_nowhere,
    client_url,
    credentials_url,
    logged_in,
    shown_client_id,
    shown_secret,
    snapshot,
    world,
)

__all__ = ["alice_http", "world"]  # fixtures

ISSUER = "https://issuer.test"
TEMPLATE_SYNTAX = re.compile(r"\{#|#\}|\{%|%\}|\{\{|\}\}")


def visible_text(html: str) -> str:
    html = re.sub(r"<(style|script)\b.*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]*>", " ", html)


def create(http: HttpClient, project: Project, name: str = "Production server",
           scopes: tuple[Scope, ...] = ()) -> HttpClient:
    return http.post(credentials_url(project) + "create/",
                     {"name": name, "scopes": [scope.pk for scope in scopes]})


def api_status(http: HttpClient, token: str) -> int:
    return http.get("/api/address", headers=bearer(token)).status_code


# The projects list.

def test_anonymous_users_are_sent_to_the_login_page(http: HttpClient, world: World) -> None:
    response = http.get(PORTAL)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/portal/"


def test_the_login_page_logs_a_customer_in_to_the_portal(http: HttpClient,
                                                         world: World) -> None:
    page = http.get("/accounts/login/?next=/portal/")
    assert page.status_code == 200
    assert 'autocomplete="current-password"' in page.content.decode()
    response = http.post("/accounts/login/?next=/portal/", {
        "username": "alice", "password": "alice-password", "next": "/portal/"})
    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert "Acme" in http.get(PORTAL).content.decode()


def test_the_list_shows_the_users_projects_only(alice_http: HttpClient, world: World) -> None:
    world.staging.set_active(False)
    body = alice_http.get(PORTAL).content.decode()
    assert "Acme" in body and "Acme staging" in body
    assert "Mallory" not in body
    assert f'href="{credentials_url(world.acme)}"' in body
    assert "Not enabled" in body  # staging
    assert "Signed in as alice" in body


def test_a_user_without_projects_is_told_so(db: None) -> None:
    from django.contrib.auth.models import User

    http = logged_in(User.objects.create_user("nobody"))
    assert "You do not manage any project yet" in http.get(PORTAL).content.decode()


def test_staff_need_membership_too(world: World) -> None:
    """The portal is for customers: a superuser who is not a member sees nothing there."""
    from django.contrib.auth.models import User

    root = User.objects.create_superuser("root", "root@example.com", "pw")
    http = logged_in(root)
    assert "Acme" not in http.get(PORTAL).content.decode()
    assert http.get(credentials_url(world.acme)).status_code == 404


# The Credentials page.

def test_credentials_page_lists_the_projects_clients(alice_http: HttpClient,
                                                     world: World) -> None:
    response = alice_http.get(credentials_url(world.acme))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    client = world.acme_client
    assert client.name in body and client.client_id in body
    assert '<span class="scope">address</span>' in body
    assert "Active" in body and "Never" in body  # never used yet
    assert world.staging_client.client_id not in body
    assert world.mallory_client.client_id not in body
    assert HASH_PREFIX not in body and client.secret_hash not in body
    assert "Create OAuth2 Client ID and Secret" in body
    assert TEMPLATE_SYNTAX.search(visible_text(body)) is None


def test_the_form_offers_only_the_scopes_staff_allow(alice_http: HttpClient, world: World,
                                                     scopes: dict[str, Scope]) -> None:
    body = alice_http.get(credentials_url(world.acme)).content.decode()
    offered = set(re.findall(r'name="scopes" value="(\d+)"', body))
    assert offered == {str(scopes["address"].pk), str(scopes["phone"].pk)}
    assert "address APIs" in body  # the description labels the choice

    world.acme.scopes.add(scopes["introspection"])  # only when staff allow it
    body = alice_http.get(credentials_url(world.acme)).content.decode()
    assert f'name="scopes" value="{scopes["introspection"].pk}"' in body


def test_last_used_is_shown(alice_http: HttpClient, http: HttpClient, world: World,
                            scopes: dict[str, Scope]) -> None:
    response = create(alice_http, world.acme, scopes=(scopes["address"],))
    client_id, secret = shown_client_id(response), shown_secret(response)
    assert token_request(http, client_id, secret).status_code == 200
    body = alice_http.get(credentials_url(world.acme)).content.decode()
    row = body.split(f'id="client-{client_id}"')[1].split("</tr>")[0]
    assert Client.objects.get(client_id=client_id).last_used_at is not None
    assert "Never" not in row
    assert re.search(r'<time datetime="[^"]+">[^<]+</time></td>\s*<td><div class="actions">',
                     row)


def test_a_project_that_is_not_enabled_says_contact_us(alice_http: HttpClient,
                                                       world: World) -> None:
    world.acme.set_active(False)
    body = alice_http.get(credentials_url(world.acme)).content.decode()
    assert "not enabled for this project" in body and "Contact us" in body
    assert world.acme_client.client_id in body  # still listed
    assert "Create OAuth2 Client ID and Secret" not in body
    assert "/regenerate/" not in body and "/delete/" not in body


# Creating.

def test_create_shows_the_secret_once_and_it_works(alice_http: HttpClient, http: HttpClient,
                                                   world: World,
                                                   scopes: dict[str, Scope]) -> None:
    response = create(alice_http, world.acme, scopes=(scopes["address"], scopes["phone"]))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    assert "will not be shown again" in body
    assert TEMPLATE_SYNTAX.search(visible_text(body)) is None
    client_id, secret = shown_client_id(response), shown_secret(response)
    client = Client.objects.get(client_id=client_id)
    assert client.project == world.acme and client.name == "Production server"
    assert sorted(client.scopes.values_list("name", flat=True)) == ["address", "phone"]
    assert check_secret(secret, client.secret_hash)[0]
    token = token_request(http, client_id, secret, scope="address phone")
    assert token.status_code == 200, token.content
    assert api_status(http, token.json()["access_token"]) == 200

    assert_secret_kept_nowhere(alice_http, response, secret)
    later = alice_http.get(credentials_url(world.acme)).content.decode()
    assert client_id in later and secret not in later


@pytest.mark.parametrize(("name", "scope_names", "error"), [
    ("", ("address",), "This field is required."),
    ("x" * 201, ("address",), "at most 200 characters"),
    ("No scopes", (), "Choose at least one scope."),
    ("Not allowed", ("email",), "Select a valid choice."),
    ("Never in a token", ("introspection",), "Select a valid choice."),
])
def test_an_invalid_create_shows_errors_and_creates_nothing(
        alice_http: HttpClient, world: World, scopes: dict[str, Scope], name: str,
        scope_names: tuple[str, ...], error: str) -> None:
    before = snapshot()
    response = create(alice_http, world.acme, name,
                      tuple(scopes[scope] for scope in scope_names))
    assert response.status_code == 200
    body = response.content.decode()
    assert error in body
    assert 'id="oauth-cc-client-secret"' not in body
    assert snapshot() == before


def test_the_client_limit_counts_clients_made_anywhere(alice_http: HttpClient, world: World,
                                                       scopes: dict[str, Scope]) -> None:
    with override_settings(OAUTH_CC={"ISSUER": ISSUER, "PORTAL_MAX_CLIENTS": 2}):
        assert create(alice_http, world.acme, scopes=(scopes["address"],)).status_code == 200
        before = snapshot()
        response = create(alice_http, world.acme, "One too many", (scopes["address"],))
        body = response.content.decode()
        assert response.status_code == 200
        assert "already has 2 clients, the most it may have" in body
        assert 'id="oauth-cc-client-secret"' not in body
        assert snapshot() == before
        assert "as many clients as it may have" in alice_http.get(
            credentials_url(world.acme)).content.decode()


def test_a_project_that_is_not_enabled_refuses_every_change(
        alice_http: HttpClient, world: World, scopes: dict[str, Scope]) -> None:
    world.acme.set_active(False)
    before = snapshot()
    client_id = world.acme_client.client_id
    responses = [create(alice_http, world.acme, scopes=(scopes["address"],)),
                 *(alice_http.post(client_url(world.acme, client_id, action))
                   for action in ("regenerate", "disable", "enable", "delete"))]
    for response in responses:
        assert response.status_code == 409
        assert "Contact us to enable them" in response.content.decode()
        assert 'id="oauth-cc-client-secret"' not in response.content.decode()
    assert snapshot() == before


# Regenerating.

def test_regenerate_shows_a_new_secret_and_the_old_one_stops_working(
        alice_http: HttpClient, http: HttpClient, world: World,
        scopes: dict[str, Scope]) -> None:
    made = create(alice_http, world.acme, scopes=(scopes["address"],))
    client_id, old = shown_client_id(made), shown_secret(made)

    response = alice_http.post(client_url(world.acme, client_id, "regenerate"))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    new = shown_secret(response)
    assert new != old
    assert "no longer works" in response.content.decode()
    assert token_request(http, client_id, old).status_code == 401
    assert token_request(http, client_id, new).status_code == 200
    assert_secret_kept_nowhere(alice_http, response, new)
    assert new not in alice_http.get(credentials_url(world.acme)).content.decode()


def test_regenerate_honours_the_grace_period(alice_http: HttpClient, http: HttpClient,
                                             world: World, scopes: dict[str, Scope],
                                             frozen_clock: clock.FrozenClock) -> None:
    made = create(alice_http, world.acme, scopes=(scopes["address"],))
    client_id, old = shown_client_id(made), shown_secret(made)
    with override_settings(OAUTH_CC={"ISSUER": ISSUER, "SECRET_ROTATION_GRACE_SECONDS": 60}):
        assert "keeps working for 60 more seconds" in alice_http.get(
            credentials_url(world.acme)).content.decode()
        response = alice_http.post(client_url(world.acme, client_id, "regenerate"))
        new = shown_secret(response)
        assert "still works until" in response.content.decode()
        assert token_request(http, client_id, old).status_code == 200
        frozen_clock.advance(61)
        assert token_request(http, client_id, old).status_code == 401
        assert token_request(http, client_id, new).status_code == 200


# Disabling, enabling, deleting.

def test_disable_and_enable_take_effect_at_once(alice_http: HttpClient, http: HttpClient,
                                                world: World) -> None:
    client = world.acme_client
    token = mint_token(client)
    assert api_status(http, token) == 200

    response = alice_http.post(client_url(world.acme, client.client_id, "disable"))

    assert response.status_code == 303
    assert response["Location"] == credentials_url(world.acme)
    assert api_status(http, token) == 401
    assert not Client.objects.get(pk=client.pk).is_active
    page = alice_http.get(response["Location"]).content.decode()
    assert "is disabled" in page and "Disabled" in page and "/enable/" in page

    alice_http.post(client_url(world.acme, client.client_id, "enable"))
    assert api_status(http, token) == 200
    assert Client.objects.get(pk=client.pk).is_active


def test_delete_removes_the_client_and_its_tokens_stop_working(
        alice_http: HttpClient, http: HttpClient, world: World) -> None:
    client = world.acme_client
    token = mint_token(client)

    response = alice_http.post(client_url(world.acme, client.client_id, "delete"))

    assert response.status_code == 303
    assert not Client.objects.filter(pk=client.pk).exists()
    assert api_status(http, token) == 401
    page = alice_http.get(credentials_url(world.acme)).content.decode()
    assert "is deleted" in page and client.client_id not in page
    assert "No clients yet." in page


# Secrets stay out of logs and error reports.

def test_no_secret_reaches_the_log(alice_http: HttpClient, world: World,
                                   scopes: dict[str, Scope],
                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    made = create(alice_http, world.acme, scopes=(scopes["address"],))
    client_id = shown_client_id(made)
    regenerated = alice_http.post(client_url(world.acme, client_id, "regenerate"))
    client = Client.objects.get(client_id=client_id)
    records = caplog.text + repr([getattr(r, "oauth_cc", None) for r in caplog.records])
    for secret in (shown_secret(made), shown_secret(regenerated), client.secret_hash):
        assert secret not in records


KNOWN_SECRET = "known-secret-for-the-error-report-test-000000"


@pytest.mark.parametrize("action", ["create", "regenerate", "render"])
def test_error_reports_never_show_the_secret(alice_http: HttpClient, world: World,
                                             scopes: dict[str, Scope], action: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception after the secret exists (in the operation, or rendering the page that
    shows it): Django's error report masks it in every frame."""
    import sys

    from django.views.debug import ExceptionReporter

    from oauth_cc import credentials
    from oauth_cc.portal import operations, views

    def boom() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(credentials, "generate_client_secret", lambda: KNOWN_SECRET)
    if action == "render":
        monkeypatch.setattr(views, "_token_url", boom)  # called while building the page
    else:
        # Fails in the operation right after the model returned the plain secret. bytes(str)
        # raises from C, with no frame of its own and a message without the value.
        monkeypatch.setattr(operations, "ShownOnce", bytes)
    url = (credentials_url(world.acme) + "create/" if action != "regenerate"
           else client_url(world.acme, world.acme_client.client_id, "regenerate"))
    try:
        alice_http.post(url, {"name": "x", "scopes": [scopes["address"].pk]})
    except (RuntimeError, TypeError):
        report = ExceptionReporter(None, *sys.exc_info()).get_traceback_html()
    else:
        pytest.fail("no exception")
    assert "Local vars" in report  # the report does show the frames' variables
    assert KNOWN_SECRET not in report


# Which projects: PORTAL_PROJECTS.

def test_portal_projects_names_the_sites_own_rule(world: World) -> None:
    named_alice = Project.objects.create(name="alice")  # alice is not a member
    with override_settings(OAUTH_CC={
            "ISSUER": ISSUER,
            "PORTAL_PROJECTS": "tests.portal_support.projects_named_like_user"}):
        http = logged_in(world.alice)
        body = http.get(PORTAL).content.decode()
        assert f'href="{credentials_url(named_alice)}"' in body
        assert "Acme" not in body
        assert http.get(credentials_url(named_alice)).status_code == 200
        assert http.get(credentials_url(world.acme)).status_code == 404


def test_portal_projects_takes_a_callable_too(world: World) -> None:
    from tests.portal_support import projects_named_like_user

    Project.objects.create(name="alice")
    with override_settings(OAUTH_CC={"ISSUER": ISSUER,
                                     "PORTAL_PROJECTS": projects_named_like_user}):
        assert "alice" in logged_in(world.alice).get(PORTAL).content.decode()


def test_portal_projects_must_return_a_queryset_of_projects(world: World) -> None:
    path = "tests.portal_support.not_a_queryset"
    with override_settings(OAUTH_CC={"ISSUER": ISSUER, "PORTAL_PROJECTS": path}), \
            pytest.raises(ImproperlyConfigured, match="QuerySet"):
        logged_in(world.alice).get(PORTAL)


# Restyling: a site overrides the templates.

def test_a_site_restyles_the_portal_by_overriding_base_html(alice_http: HttpClient,
                                                            world: World, settings: Any) -> None:
    """The README's recipe: a template of the same name that extends the portal's own."""
    from pathlib import Path

    settings.TEMPLATES = [{**settings.TEMPLATES[0],
                           "DIRS": [Path(__file__).parent / "portal_templates"]}]
    body = alice_http.get(credentials_url(world.acme)).content.decode()
    assert ">Acme API</a>" in body and "<title>Credentials of Acme · Acme API</title>" in body
    assert "--accent: #0a7d55" in body and "--accent: #2451c7" in body  # block.super kept
    assert "Create OAuth2 Client ID and Secret" in body


def test_require_dpop_and_allow_bearer_take_effect_at_once(
        alice_http: HttpClient, http: HttpClient, world: World) -> None:
    """CONTRACT.md §12: a member turns require_dpop on and off; the token endpoint applies
    it at once (the change is saved with save(), so cached records are dropped)."""
    client = world.acme_client
    secret = shown_secret(alice_http.post(client_url(world.acme, client.client_id,
                                                     "regenerate")))
    assert token_request(http, client.client_id, secret).status_code == 200

    response = alice_http.post(client_url(world.acme, client.client_id, "require-dpop"))
    assert response.status_code == 303
    assert response["Location"] == credentials_url(world.acme)
    assert Client.objects.get(pk=client.pk).require_dpop
    refused = token_request(http, client.client_id, secret)
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_dpop_proof")
    page = alice_http.get(response["Location"]).content.decode()
    assert "DPoP-bound tokens only" in page and "DPoP required" in page
    assert "/allow-bearer/" in page

    alice_http.post(client_url(world.acme, client.client_id, "allow-bearer"))
    assert not Client.objects.get(pk=client.pk).require_dpop
    assert token_request(http, client.client_id, secret).status_code == 200


def test_create_can_require_dpop(alice_http: HttpClient, world: World,
                                 scopes: dict[str, Scope]) -> None:
    page = alice_http.get(credentials_url(world.acme)).content.decode()
    assert 'name="require_dpop"' in page
    response = alice_http.post(credentials_url(world.acme) + "create/",
                               {"name": "Bound", "scopes": [scopes["address"].pk],
                                "require_dpop": "on"})
    assert response.status_code == 200
    assert Client.objects.get(client_id=shown_client_id(response)).require_dpop
    plain = create(alice_http, world.acme, "Plain", (scopes["address"],))
    assert not Client.objects.get(client_id=shown_client_id(plain)).require_dpop
