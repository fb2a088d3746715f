"""Secretless clients in the customer portal (CONTRACT.md §11): a project member creates a
``private_key_jwt`` client by pasting its public JWK Set (or a URL), switches a client to it
and back, on the pages and through the JSON API. No secret is ever shown for such a client; a
private key pasted by mistake is refused and never echoed back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.test import Client as HttpClient

from oauth_cc import audit
from oauth_cc.credentials import check_secret
from oauth_cc.models import Client, Scope
from oauth_cc.portal.keysets import BOTH_GIVEN, NONE_GIVEN, PRIVATE_KEY_PASTED
from oauth_cc.testing import bearer
from tests.helpers import token_request
from tests.portal_support import (
    World,
    alice_http,
    api_client_url,
    api_clients_url,
    client_url,
    credentials_url,
    jwk_set,
    key_token_request,
    logged_in,
    new_key,
    shown_secret,
    snapshot,
    world,
)

__all__ = ["alice_http", "world"]  # fixtures

JWKS_URI = "https://keys.example.test/client/jwks.json"


def create(http: HttpClient, world: World, scopes: dict[str, Scope], **fields: Any) -> Any:
    return http.post(credentials_url(world.acme) + "create/", {
        "name": "Keyed server", "scopes": [scopes["address"].pk], **fields})


def switch(http: HttpClient, world: World, client: Client, **fields: Any) -> Any:
    return http.post(client_url(world.acme, client.client_id, "authentication"), fields)


def api_status(http: HttpClient, token: str) -> int:
    return http.get("/api/address", headers=bearer(token)).status_code


def private_jwk_set() -> dict[str, Any]:
    """A JWK Set holding a private key (its ``d``), as someone might paste by mistake."""
    key = ec.generate_private_key(ec.SECP256R1())
    return {"keys": [{**jwt.algorithms.ECAlgorithm.to_jwk(key, as_dict=True), "kid": "k1"}]}


def private_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def small_rsa_jwk_set() -> dict[str, Any]:
    key = rsa.generate_private_key(65537, 1024)  # noqa: S505 - refused, as it should be
    return {"keys": [jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)]}


# The pages: creating.

def test_create_a_secretless_client_shows_no_secret_and_its_key_works(
        alice_http: HttpClient, http: HttpClient, world: World,
        scopes: dict[str, Scope]) -> None:
    key, document = new_key("deploy-2026")

    response = create(alice_http, world, scopes, auth_method="private_key_jwt",
                      jwks=json.dumps(document))

    assert response.status_code == 303
    assert response["Location"] == credentials_url(world.acme)
    client = Client.objects.get(name="Keyed server")
    assert client.auth_method == "private_key_jwt"
    assert (client.secret_hash, client.jwks_uri) == ("", "")
    assert client.jwks == document
    page = alice_http.get(response["Location"]).content.decode()
    assert f"client ID {client.client_id}" in page  # the message
    assert "it has no secret" in page
    row = page.split(f'id="client-{client.client_id}"')[1].split("</tr>")[0]
    assert "Private key" in row and "<code>deploy-2026</code>" in row
    assert "Use a secret" in row and "Regenerate secret" not in row
    assert 'id="oauth-cc-client-secret"' not in page

    token = key_token_request(http, client.client_id, key, "deploy-2026")
    assert token.status_code == 200, token.content
    assert api_status(http, token.json()["access_token"]) == 200
    assert token_request(http, client.client_id, "any-secret").status_code == 401


def test_create_with_a_jwks_uri(alice_http: HttpClient, world: World,
                                scopes: dict[str, Scope]) -> None:
    response = create(alice_http, world, scopes, auth_method="private_key_jwt",
                      jwks_uri=JWKS_URI)
    assert response.status_code == 303
    client = Client.objects.get(name="Keyed server")
    assert (client.auth_method, client.jwks, client.jwks_uri) == (
        "private_key_jwt", None, JWKS_URI)
    page = alice_http.get(credentials_url(world.acme)).content.decode()
    assert f"Keys at <code>{JWKS_URI}</code>" in page


def test_keys_are_ignored_for_a_client_with_a_secret(alice_http: HttpClient, world: World,
                                                     scopes: dict[str, Scope]) -> None:
    """The create form shows the key fields to everyone: a secret client gets a secret."""
    response = create(alice_http, world, scopes, auth_method="client_secret",
                      jwks=json.dumps(jwk_set()))
    assert response.status_code == 200
    client = Client.objects.get(name="Keyed server")
    assert check_secret(shown_secret(response), client.secret_hash)[0]
    assert (client.auth_method, client.jwks) == ("client_secret", None)


@pytest.mark.parametrize(("fields", "error"), [
    ({}, NONE_GIVEN),
    ({"jwks": "", "jwks_uri": ""}, NONE_GIVEN),
    ({"jwks": json.dumps(jwk_set()), "jwks_uri": JWKS_URI}, BOTH_GIVEN),
    ({"jwks": "{not json"}, "The JWK Set is not valid JSON."),
    ({"jwks": json.dumps(jwk_set()["keys"][0])}, "This is a single JWK, not a JWK Set"),
    ({"jwks": json.dumps(small_rsa_jwk_set())}, "is a 1024-bit RSA key"),
    ({"jwks_uri": "http://keys.example.test/jwks.json"}, "must use https"),
    ({"jwks_uri": "not a url"}, "jwks_uri"),
    ({"auth_method": "none"}, "Select a valid choice."),
])
def test_an_invalid_secretless_create_shows_the_error_and_creates_nothing(
        alice_http: HttpClient, world: World, scopes: dict[str, Scope],
        fields: dict[str, Any], error: str) -> None:
    before = snapshot()
    response = create(alice_http, world, scopes, **{"auth_method": "private_key_jwt", **fields})
    assert response.status_code == 200
    body = response.content.decode()
    assert str(error).replace("'", "&#x27;") in body
    assert 'id="oauth-cc-client-secret"' not in body
    assert snapshot() == before


@pytest.mark.parametrize("pasted", ["jwk", "pem"])
def test_a_pasted_private_key_is_refused_and_never_shown_again(
        alice_http: HttpClient, world: World, scopes: dict[str, Scope], pasted: str) -> None:
    document = private_jwk_set()
    text = json.dumps(document) if pasted == "jwk" else private_pem()
    before = snapshot()

    response = create(alice_http, world, scopes, auth_method="private_key_jwt", jwks=text)

    body = response.content.decode()
    assert response.status_code == 200
    assert str(PRIVATE_KEY_PASTED).replace("'", "&#x27;") in body
    secret_part = document["keys"][0]["d"] if pasted == "jwk" else text.splitlines()[1]
    assert secret_part not in body
    assert snapshot() == before
    # Kept out of error reports, as every portal form is.
    assert response.wsgi_request.sensitive_post_parameters == "__ALL__"


# The pages: switching a client.

def test_switch_a_client_to_its_private_key_and_back(
        alice_http: HttpClient, http: HttpClient, world: World, scopes: dict[str, Scope]
) -> None:
    made = alice_http.post(credentials_url(world.acme) + "create/",
                           {"name": "Server", "scopes": [scopes["address"].pk]})
    client = Client.objects.get(name="Server")
    old_secret = shown_secret(made)
    page = alice_http.get(client_url(world.acme, client.client_id, "authentication"))
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    assert "With its client ID and a secret" in page.content.decode()
    key, document = new_key()

    response = switch(alice_http, world, client, jwks=json.dumps(document))

    assert response.status_code == 303
    assert response["Location"] == credentials_url(world.acme)
    assert "now authenticates with its private key" in alice_http.get(
        response["Location"]).content.decode()
    client.refresh_from_db()
    assert (client.auth_method, client.secret_hash) == ("private_key_jwt", "")
    assert token_request(http, client.client_id, old_secret).status_code == 401
    assert key_token_request(http, client.client_id, key).status_code == 200
    page = alice_http.get(client_url(world.acme, client.client_id, "authentication"))
    assert '<ul id="key-ids"><li><code>k1</code></li></ul>' in page.content.decode()

    back = alice_http.post(client_url(world.acme, client.client_id, "regenerate"))

    assert back.status_code == 200 and "no-store" in back["Cache-Control"]
    assert "its registered public keys no longer work" in back.content.decode()
    new_secret = shown_secret(back)
    client.refresh_from_db()
    assert (client.auth_method, client.jwks) == ("client_secret", None)
    assert token_request(http, client.client_id, new_secret).status_code == 200
    assert key_token_request(http, client.client_id, key).status_code == 401


def test_replace_the_keys_of_a_secretless_client(alice_http: HttpClient, http: HttpClient,
                                                 world: World) -> None:
    old_key, old_document = new_key("old")
    client = Client.objects.create_secretless_client(
        "Keyed", project=world.acme, scopes=["address"], jwks=old_document)
    new, new_document = new_key("new")

    response = switch(alice_http, world, client, jwks=json.dumps(new_document))

    assert response.status_code == 303
    assert "are updated" in alice_http.get(response["Location"]).content.decode()
    assert key_token_request(http, client.client_id, new, "new").status_code == 200
    assert key_token_request(http, client.client_id, old_key, "old").status_code == 401


@pytest.mark.parametrize("pasted", ["private", "invalid", "nothing"])
def test_an_invalid_switch_changes_nothing(alice_http: HttpClient, world: World,
                                           pasted: str) -> None:
    document = private_jwk_set()
    fields = {"private": {"jwks": json.dumps(document)}, "invalid": {"jwks": "[]"},
              "nothing": {}}[pasted]
    before = snapshot()

    response = switch(alice_http, world, world.acme_client, **fields)

    assert response.status_code == 200
    body = response.content.decode()
    assert 'aria-invalid="true"' in body
    assert document["keys"][0]["d"] not in body
    assert snapshot() == before


def test_the_authentication_page_of_a_project_that_is_not_enabled(
        alice_http: HttpClient, world: World) -> None:
    world.acme.set_active(False)
    page = alice_http.get(client_url(world.acme, world.acme_client.client_id,
                                     "authentication")).content.decode()
    assert "not enabled for this project" in page
    assert 'id="keys-form"' not in page


def test_the_authentication_page_is_linked_from_each_row(alice_http: HttpClient,
                                                         world: World) -> None:
    page = alice_http.get(credentials_url(world.acme)).content.decode()
    url = client_url(world.acme, world.acme_client.client_id, "authentication")
    assert f'href="{url}"' in page and "Use a private key" in page


# The JSON API.

def send(http: HttpClient, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    return http.generic(method, url, json.dumps(body) if body is not None else "",
                        content_type="application/json")


def api_create(http: HttpClient, world: World, **body: Any) -> Any:
    return send(http, "POST", api_clients_url(world.acme),
                {"name": "Keyed", "scopes": ["address"], **body})


@pytest.mark.parametrize("as_text", [False, True])
def test_api_create_a_secretless_client(alice_http: HttpClient, http: HttpClient,
                                        world: World, as_text: bool) -> None:
    key, document = new_key("k1")

    response = api_create(alice_http, world, auth_method="private_key_jwt",
                          jwks=json.dumps(document) if as_text else document)

    assert response.status_code == 201, response.content
    body = response.json()
    assert "client_secret" not in body
    assert (body["auth_method"], body["key_ids"], body["jwks_uri"]) == (
        "private_key_jwt", ["k1"], "")
    assert response["Location"].endswith(api_client_url(world.acme, body["client_id"]))
    assert key_token_request(http, body["client_id"], key).status_code == 200
    listed = alice_http.get(api_clients_url(world.acme)).json()
    assert [c["key_ids"] for c in listed if c["client_id"] == body["client_id"]] == [["k1"]]


def test_api_create_with_a_jwks_uri(alice_http: HttpClient, world: World) -> None:
    response = api_create(alice_http, world, auth_method="private_key_jwt", jwks_uri=JWKS_URI)
    assert response.status_code == 201
    assert (response.json()["key_ids"], response.json()["jwks_uri"]) == (None, JWKS_URI)


@pytest.mark.parametrize(("body", "errors"), [
    ({"auth_method": "private_key_jwt"}, {"jwks": [str(NONE_GIVEN)]}),
    ({"auth_method": "private_key_jwt", "jwks": None}, {"jwks": [str(NONE_GIVEN)]}),
    ({"auth_method": "private_key_jwt", "jwks": jwk_set(), "jwks_uri": JWKS_URI},
     {"jwks_uri": [str(BOTH_GIVEN)]}),
    ({"jwks": jwk_set()},
     {"jwks": ['Keys are registered only with "auth_method": "private_key_jwt".']}),
    ({"auth_method": "private_key_jwt", "jwks": private_jwk_set()},
     {"jwks": [str(PRIVATE_KEY_PASTED)]}),
    ({"auth_method": "private_key_jwt", "jwks": private_pem()},
     {"jwks": [str(PRIVATE_KEY_PASTED)]}),
    ({"auth_method": "private_key_jwt", "jwks": {"keys": []}},
     {"jwks": ["The JWK Set has no keys."]}),
    ({"auth_method": "private_key_jwt", "jwks": [1]},
     {"jwks": ['A JWK Set is a JSON object with a "keys" list.']}),
    ({"auth_method": "private_key_jwt", "jwks_uri": "http://keys.example.test/jwks"},
     {"jwks_uri": ["The jwks_uri must use https (http only on a loopback host such as "
                   "127.0.0.1, for development)."]}),
    ({"auth_method": "tls_client_auth"},
     {"auth_method": ['"tls_client_auth" is not a valid choice.']}),
])
def test_api_an_invalid_secretless_create_is_a_400(alice_http: HttpClient, world: World,
                                                   body: dict[str, Any],
                                                   errors: dict[str, Any]) -> None:
    before = snapshot()
    response = api_create(alice_http, world, **body)
    assert response.status_code == 400
    assert response.json() == errors
    assert snapshot() == before


def test_api_patch_switches_a_client_and_replaces_its_keys(
        alice_http: HttpClient, http: HttpClient, world: World) -> None:
    created = send(alice_http, "POST", api_clients_url(world.acme),
                   {"name": "Server", "scopes": ["address"]}).json()
    url = api_client_url(world.acme, created["client_id"])
    key, document = new_key("k1")

    response = send(alice_http, "PATCH", url, {"auth_method": "private_key_jwt",
                                               "jwks": document, "name": "Keyed server"})

    assert response.status_code == 200, response.content
    assert (response.json()["auth_method"], response.json()["key_ids"],
            response.json()["name"]) == ("private_key_jwt", ["k1"], "Keyed server")
    assert token_request(http, created["client_id"], created["client_secret"]
                         ).status_code == 401
    assert key_token_request(http, created["client_id"], key).status_code == 200

    new, new_document = new_key("k2")
    response = send(alice_http, "PATCH", url, {"jwks": new_document})  # keys only
    assert response.status_code == 200 and response.json()["key_ids"] == ["k2"]
    assert key_token_request(http, created["client_id"], new, "k2").status_code == 200
    assert key_token_request(http, created["client_id"], key).status_code == 401

    response = send(alice_http, "PATCH", url, {"jwks_uri": JWKS_URI})
    assert (response.json()["key_ids"], response.json()["jwks_uri"]) == (None, JWKS_URI)
    assert send(alice_http, "PATCH", url, {"name": "Renamed"}).json()["auth_method"] == (
        "private_key_jwt")


def test_api_patch_cannot_go_back_to_a_secret(alice_http: HttpClient, world: World) -> None:
    """The secret would have to be in a PATCH answer: regenerate is the way, and shows it."""
    client = Client.objects.create_secretless_client("Keyed", project=world.acme,
                                                     scopes=["address"], jwks=jwk_set())
    before = snapshot()
    response = send(alice_http, "PATCH", api_client_url(world.acme, client.client_id),
                    {"auth_method": "client_secret"})
    assert response.status_code == 400
    assert "POST to its regenerate URL" in response.json()["auth_method"][0]
    assert snapshot() == before


def test_api_regenerate_gives_a_secretless_client_a_secret(
        alice_http: HttpClient, http: HttpClient, world: World) -> None:
    key, document = new_key()
    client = Client.objects.create_secretless_client("Keyed", project=world.acme,
                                                     scopes=["address"], jwks=document)

    response = send(alice_http, "POST", api_client_url(world.acme, client.client_id,
                                                       "regenerate"))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert (body["auth_method"], body["key_ids"]) == ("client_secret", None)
    assert token_request(http, client.client_id, body["client_secret"]).status_code == 200
    assert key_token_request(http, client.client_id, key).status_code == 401


def test_api_patch_keys_of_a_secret_client_need_the_method(alice_http: HttpClient,
                                                           world: World) -> None:
    before = snapshot()
    response = send(alice_http, "PATCH",
                    api_client_url(world.acme, world.acme_client.client_id),
                    {"jwks_uri": JWKS_URI})
    assert response.status_code == 400
    assert response.json() == {"jwks_uri": [
        'Keys are registered only with "auth_method": "private_key_jwt".']}
    assert snapshot() == before


# The audit trail names the member.

@pytest.fixture
def events(caplog: pytest.LogCaptureFixture) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    caplog.set_level(logging.INFO, logger="oauth_cc")
    received: list[tuple[str, dict[str, Any]]] = []
    signals = [audit.client_created, audit.client_updated, audit.client_secret_regenerated]

    def receiver(sender: Any, event: str, **fields: Any) -> None:
        received.append((event, fields))

    for signal in signals:
        signal.connect(receiver, weak=False)
    yield received
    for signal in signals:
        signal.disconnect(receiver)


def test_every_change_of_authentication_names_the_member(
        world: World, scopes: dict[str, Scope], events: list[Any]) -> None:
    http = logged_in(world.alice)
    create(http, world, scopes, auth_method="private_key_jwt", jwks=json.dumps(jwk_set()))
    made = Client.objects.get(name="Keyed server")
    switch(http, world, world.acme_client, jwks=json.dumps(jwk_set()))
    send(http, "PATCH", api_client_url(world.acme, made.client_id), {"jwks_uri": JWKS_URI})
    http.post(client_url(world.acme, made.client_id, "regenerate"))

    assert [(event, fields.get("fields"), fields["actor"]) for event, fields in events] == [
        ("client_created", None, "alice"),
        ("client_updated", ["auth_method", "jwks"], "alice"),
        ("client_updated", ["jwks", "jwks_uri"], "alice"),
        ("client_updated", ["auth_method", "jwks_uri"], "alice"),
        ("client_secret_regenerated", None, "alice"),
    ]


def test_another_member_cannot_switch_alices_client(world: World) -> None:
    """Mallory, by the page and by the API: 404, and Alice's client keeps its secret."""
    http = logged_in(world.mallory)
    before = snapshot()
    page = switch(http, world, world.acme_client, jwks=json.dumps(jwk_set()))
    api = send(http, "PATCH", api_client_url(world.acme, world.acme_client.client_id),
               {"auth_method": "private_key_jwt", "jwks": jwk_set()})
    assert (page.status_code, api.status_code) == (404, 404)
    assert snapshot() == before


def test_the_new_pages_show_no_template_syntax(alice_http: HttpClient, world: World) -> None:
    from tests.test_portal import TEMPLATE_SYNTAX, visible_text

    keyed = Client.objects.create_secretless_client("Keyed", project=world.acme,
                                                    scopes=["address"], jwks=jwk_set())
    for client in (world.acme_client, keyed):
        body = alice_http.get(client_url(world.acme, client.client_id, "authentication")
                              ).content.decode()
        assert TEMPLATE_SYNTAX.search(visible_text(body)) is None, visible_text(body)
    body = alice_http.get(credentials_url(world.acme)).content.decode()
    assert TEMPLATE_SYNTAX.search(visible_text(body)) is None
