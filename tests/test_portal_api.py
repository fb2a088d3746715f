"""The portal's JSON API for single-page portals (CONTRACT.md §10): DRF, session
authentication and CSRF; the same operations as the pages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.test import override_settings

from oauth_cc.credentials import HASH_PREFIX, check_secret
from oauth_cc.models import Client, Scope
from oauth_cc.testing import bearer, mint_token
from tests.helpers import token_request
from tests.portal_support import (
    PORTAL,
    World,
    alice_http,
    api_client_url,
    api_clients_url,
    logged_in,
    snapshot,
    world,
)

__all__ = ["alice_http", "world"]  # fixtures

ISSUER = "https://issuer.test"
CLIENT_FIELDS = {"client_id", "name", "scopes", "is_active", "created_at", "secret_updated_at",
                 "last_used_at", "auth_method", "key_ids", "jwks_uri", "require_dpop"}


def send(http: HttpClient, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    return http.generic(method, url, json.dumps(body) if body is not None else "",
                        content_type="application/json")


def create(http: HttpClient, world: World, **body: Any) -> Any:
    return send(http, "POST", api_clients_url(world.acme),
                {"name": "Production server", "scopes": ["address"], **body})


def test_projects(alice_http: HttpClient, world: World) -> None:
    response = alice_http.get(PORTAL + "api/projects/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert response.json() == [
        {"id": world.acme.pk, "name": "Acme", "is_active": True, "clients": 1,
         "allowed_scopes": [{"name": "address", "description": "address APIs"},
                            {"name": "phone", "description": "phone APIs"}]},
        {"id": world.staging.pk, "name": "Acme staging", "is_active": True, "clients": 1,
         "allowed_scopes": [{"name": "address", "description": "address APIs"},
                            {"name": "phone", "description": "phone APIs"}]},
    ]


def test_clients_never_show_a_secret_or_hash(alice_http: HttpClient, world: World) -> None:
    response = alice_http.get(api_clients_url(world.acme))
    assert response.status_code == 200
    [client] = response.json()
    assert set(client) == CLIENT_FIELDS
    assert client["client_id"] == world.acme_client.client_id
    assert client["scopes"] == ["address"] and client["last_used_at"] is None
    assert (client["auth_method"], client["key_ids"], client["jwks_uri"]) == (
        "client_secret", None, "")
    assert HASH_PREFIX not in response.content.decode()


def test_create_answers_201_with_the_secret_once(alice_http: HttpClient, http: HttpClient,
                                                 world: World) -> None:
    response = create(alice_http, world, scopes=["address", "phone"])

    assert response.status_code == 201, response.content
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert set(body) == CLIENT_FIELDS | {"client_secret"}
    assert body["scopes"] == ["address", "phone"] and body["is_active"] is True
    client = Client.objects.get(client_id=body["client_id"])
    assert client.project == world.acme
    assert check_secret(body["client_secret"], client.secret_hash)[0]
    assert response["Location"] == "http://testserver" + api_client_url(
        world.acme, client.client_id)
    token = token_request(http, body["client_id"], body["client_secret"])
    assert token.status_code == 200
    assert http.get("/api/address", headers=bearer(token.json()["access_token"])
                    ).status_code == 200

    later = alice_http.get(api_client_url(world.acme, client.client_id))
    assert later.json()["last_used_at"] is not None
    for page in (later, alice_http.get(api_clients_url(world.acme))):
        assert body["client_secret"] not in page.content.decode()
        assert '"client_secret":' not in page.content.decode()  # the value of auth_method


@pytest.mark.parametrize(("body", "errors"), [
    ({"name": ""}, {"name": ["This field may not be blank."]}),
    ({"name": "x" * 201}, {"name": ["Ensure this field has no more than 200 characters."]}),
    ({"scopes": []}, {"scopes": ["This list may not be empty."]}),
    ({"scopes": ["email"]}, {"scopes": ["Object with name=email does not exist."]}),
    ({"scopes": ["introspection"]},
     {"scopes": ["Object with name=introspection does not exist."]}),
    ({"scopes": ["nope"]}, {"scopes": ["Object with name=nope does not exist."]}),
    ({"scopes": "address"}, {"scopes": ['Expected a list of items but got type "str".']}),
])
def test_an_invalid_create_is_a_400_with_field_errors(alice_http: HttpClient, world: World,
                                                       body: dict[str, Any],
                                                       errors: dict[str, Any]) -> None:
    before = snapshot()
    response = create(alice_http, world, **body)
    assert response.status_code == 400
    assert response.json() == errors
    assert snapshot() == before


def test_a_missing_field_is_a_400(alice_http: HttpClient, world: World) -> None:
    response = send(alice_http, "POST", api_clients_url(world.acme), {})
    assert response.status_code == 400
    assert response.json() == {"name": ["This field is required."],
                               "scopes": ["This field is required."]}


def test_json_only(alice_http: HttpClient, world: World) -> None:
    response = alice_http.post(api_clients_url(world.acme), {"name": "x", "scopes": "address"})
    assert response.status_code == 415


@pytest.mark.parametrize("body", [
    '{"name": "x", "scopes": ["address"], "jwks": ' + "[" * 100_000 + "]" * 100_000 + "}",
    '{"name": "\\ud800", "scopes": ["address"]}',  # no text: it cannot be stored
    '{"name": "x", "scopes": ["\\ud800"]}',  # nor looked up
    '{"name": "x", "scopes": ["address"], "jwks": {"keys": [{"kid": "\\udfff"}]}}',
])
def test_json_that_the_api_cannot_use_is_a_400_not_a_500(alice_http: HttpClient,
                                                         world: World, body: str) -> None:
    # Nested deeper than json can read: a RecursionError, which DRF's parser lets through (a
    # 500). A lone surrogate escape (RFC 8259 §8.2) is no text any field can use: refused as
    # the JSON it is, before a field or the database sees it.
    before = snapshot()
    response = alice_http.generic("POST", api_clients_url(world.acme), body,
                                  content_type="application/json")
    assert response.status_code == 400, response.content
    assert "JSON parse error" in response.json()["detail"], response.content
    assert snapshot() == before


def test_the_client_limit(alice_http: HttpClient, world: World) -> None:
    with override_settings(OAUTH_CC={"ISSUER": ISSUER, "PORTAL_MAX_CLIENTS": 1}):
        before = snapshot()
        response = create(alice_http, world)
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": [
        "This project already has 1 client, the most it may have. Delete it before you "
        "create another."]}
    assert snapshot() == before


def test_a_project_that_is_not_enabled_is_a_409(alice_http: HttpClient, world: World) -> None:
    world.acme.set_active(False)
    response = create(alice_http, world)
    assert response.status_code == 409
    assert response.json() == {"detail": "OAuth2 client credentials are not enabled for this "
                                         "project. Contact us to enable them."}


def test_patch_renames_rescopes_and_disables(alice_http: HttpClient, http: HttpClient,
                                             world: World) -> None:
    client = world.acme_client
    token = mint_token(client)
    response = send(alice_http, "PATCH", api_client_url(world.acme, client.client_id),
                    {"name": "Renamed", "scopes": ["address", "phone"], "is_active": False})
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Renamed"
    assert response.json()["scopes"] == ["address", "phone"]
    assert response.json()["is_active"] is False
    assert http.get("/api/address", headers=bearer(token)).status_code == 401  # at once

    response = send(alice_http, "PATCH", api_client_url(world.acme, client.client_id),
                    {"is_active": True})
    assert response.json()["is_active"] is True and response.json()["name"] == "Renamed"
    assert http.get("/api/address", headers=bearer(token)).status_code == 200


def test_patch_cannot_give_a_scope_staff_do_not_allow(alice_http: HttpClient,
                                                      world: World) -> None:
    before = snapshot()
    response = send(alice_http, "PATCH", api_client_url(world.acme, world.acme_client.client_id),
                    {"scopes": ["address", "email"]})
    assert response.status_code == 400
    assert response.json() == {"scopes": ["Object with name=email does not exist."]}
    assert snapshot() == before


def test_delete(alice_http: HttpClient, http: HttpClient, world: World) -> None:
    client = world.acme_client
    token = mint_token(client)
    url = api_client_url(world.acme, client.client_id)
    assert send(alice_http, "DELETE", url).status_code == 204
    assert not Client.objects.filter(pk=client.pk).exists()
    assert http.get("/api/address", headers=bearer(token)).status_code == 401
    assert alice_http.get(url).status_code == 404


def test_regenerate(alice_http: HttpClient, http: HttpClient, world: World) -> None:
    created = create(alice_http, world).json()
    response = send(alice_http, "POST",
                    api_client_url(world.acme, created["client_id"], "regenerate"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    new = response.json()["client_secret"]
    assert new != created["client_secret"]
    assert token_request(http, created["client_id"], created["client_secret"]).status_code == 401
    assert token_request(http, created["client_id"], new).status_code == 200


def test_with_the_csrf_token_a_browser_session_works(world: World) -> None:
    """What a single-page portal does: read the csrftoken cookie, send it as X-CSRFToken."""
    http = logged_in(world.alice, enforce_csrf_checks=True)
    assert http.get(PORTAL).status_code == 200  # a page sets the CSRF cookie
    token = http.cookies["csrftoken"].value
    response = http.post(api_clients_url(world.acme),
                         json.dumps({"name": "SPA", "scopes": ["address"]}),
                         content_type="application/json", headers={"X-CSRFToken": token})
    assert response.status_code == 201
    assert send(http, "POST", api_clients_url(world.acme),
                {"name": "SPA", "scopes": ["address"]}).status_code == 403


def test_the_api_ignores_the_sites_drf_defaults(world: World) -> None:
    """A site whose DRF default is token authentication still gets a session API here."""
    with override_settings(REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.BrowsableAPIRenderer"]}):
        assert HttpClient().get(api_clients_url(world.acme)).status_code == 403
        response = logged_in(world.alice).get(api_clients_url(world.acme))
        assert response.status_code == 200 and response["Content-Type"] == "application/json"


def test_scope_objects_are_the_projects_own(alice_http: HttpClient, world: World,
                                            scopes: dict[str, Scope]) -> None:
    """Staff allowing a scope makes it available at once; removing it, unavailable."""
    world.acme.scopes.add(scopes["email"])
    assert create(alice_http, world, scopes=["email"]).status_code == 201
    world.acme.scopes.remove(scopes["email"])
    assert create(alice_http, world, scopes=["email"]).status_code == 400


@pytest.mark.parametrize("client_id", ["%00", "a%00b", "x" * 300])
def test_a_client_id_no_client_can_have_is_a_404(alice_http: HttpClient, world: World,
                                                  client_id: str) -> None:
    """Not a 500: PostgreSQL refuses NUL in a query parameter."""
    base = f"{PORTAL}api/projects/{world.acme.pk}/clients/{client_id}/"
    assert alice_http.get(base).status_code == 404
    assert alice_http.get(f"{PORTAL}projects/{world.acme.pk}/credentials/").status_code == 200


def test_require_dpop_in_create_and_patch(alice_http: HttpClient, http: HttpClient,
                                          world: World) -> None:
    made = create(alice_http, world, require_dpop=True)
    assert made.status_code == 201, made.content
    assert made.json()["require_dpop"] is True
    assert Client.objects.get(client_id=made.json()["client_id"]).require_dpop
    assert create(alice_http, world, name="Plain").json()["require_dpop"] is False

    client = world.acme_client
    url = api_client_url(world.acme, client.client_id)
    assert send(alice_http, "GET", url).json()["require_dpop"] is False
    secret = send(alice_http, "POST", url + "regenerate/").json()["client_secret"]
    response = send(alice_http, "PATCH", url, {"require_dpop": True})
    assert response.status_code == 200, response.content
    assert response.json()["require_dpop"] is True
    refused = token_request(http, client.client_id, secret)  # at once: no stale cache
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_dpop_proof")

    response = send(alice_http, "PATCH", url, {"require_dpop": False, "name": "Renamed"})
    assert (response.json()["require_dpop"], response.json()["name"]) == (False, "Renamed")
    assert token_request(http, client.client_id, secret).status_code == 200
    bad = send(alice_http, "PATCH", url, {"require_dpop": "sometimes"})
    assert bad.status_code == 400 and "require_dpop" in bad.json()
