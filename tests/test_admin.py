"""The admin (CONTRACT.md §6): a client secret is shown once, in the response that made it, and
nowhere else; disabling takes effect at once; signing keys never show their private part. A
client may be secretless instead (§11): its public keys are pasted or linked, never a secret."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pprint import pformat
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session
from django.http import HttpResponse
from django.test import Client as HttpClient
from django.test import override_settings

from oauth_cc import audit, clock
from oauth_cc.admin.clients import ShownOnce
from oauth_cc.credentials import HASH_PREFIX, check_secret
from oauth_cc.keys import CIPHERTEXT_PREFIX
from oauth_cc.models import Client, Project, Scope, SigningKey, SigningKeyState
from oauth_cc.testing import bearer, mint_token
from tests.helpers import token_request
from tests.portal_support import key_token_request, new_key

CLIENTS = "/admin/oauth_cc/client/"
PROJECTS = "/admin/oauth_cc/project/"
KEYS = "/admin/oauth_cc/signingkey/"
ISSUER = "https://issuer.test"


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def admin_http(superuser: User) -> HttpClient:
    http = HttpClient()
    http.force_login(superuser)
    return http


def shown_secret(response: HttpResponse) -> str:
    match = re.search(r'id="oauth-cc-client-secret" value="([^"]+)"', response.content.decode())
    assert match, "the page shows no secret"
    return match.group(1)


def assert_secret_kept_nowhere(http: HttpClient, response: HttpResponse, secret: str) -> None:
    """Not in a cookie, the session, the messages storage or the admin log."""
    for morsel in [*response.cookies.values(), *http.cookies.values()]:
        assert secret not in morsel.value
    assert secret not in json.dumps(dict(http.session.items()), default=str)
    for session in Session.objects.all():
        assert secret not in json.dumps(session.get_decoded(), default=str)
    assert not [m for m in get_messages(response.wsgi_request) if secret in str(m)]
    for entry in LogEntry.objects.all():
        assert secret not in entry.change_message
        assert secret not in entry.get_change_message()
        assert secret not in entry.object_repr


def assert_never_cached(response: HttpResponse) -> None:
    assert "no-store" in response["Cache-Control"]


def add_client(http: HttpClient, scopes: dict[str, Scope], name: str = "Acme app",
               project: Project | None = None, **extra: Any) -> HttpResponse:
    return http.post(CLIENTS + "add/", {
        "name": name, "project": project.pk if project else "",
        "scopes": [scopes["address"].pk, scopes["phone"].pk], "is_active": "on", **extra,
    })


def test_adding_a_client_shows_its_secret_once(admin_http: HttpClient, http: HttpClient,
                                               scopes: dict[str, Scope]) -> None:
    response = add_client(admin_http, scopes)

    assert response.status_code == 200
    assert_never_cached(response)
    client = Client.objects.get(name="Acme app")
    secret = shown_secret(response)
    assert check_secret(secret, client.secret_hash)[0]
    content = response.content.decode()
    assert client.client_id in content
    assert "will not be shown again" in content
    assert client.secret_hash not in content
    assert client.project.name == "Acme app"  # an empty project makes one named like it
    assert sorted(client.scopes.values_list("name", flat=True)) == ["address", "phone"]
    assert LogEntry.objects.get().object_id == str(client.pk)
    assert_secret_kept_nowhere(admin_http, response, secret)
    assert response.wsgi_request.sensitive_post_parameters == "__ALL__"  # error reports

    assert token_request(http, client.client_id, secret).status_code == 200
    for page in (CLIENTS, f"{CLIENTS}{client.pk}/change/", f"{CLIENTS}{client.pk}/history/"):
        body = admin_http.get(page).content.decode()
        assert client.client_id in body
        assert secret not in body
        assert HASH_PREFIX not in body


def test_a_shown_secret_is_masked_in_error_reports() -> None:
    secret = ShownOnce("s3cr3t")
    assert repr(secret) == "'********'"
    assert "s3cr3t" not in pformat({"secret": secret})
    assert str(secret) == "s3cr3t"


@pytest.mark.parametrize("button", ["_save", "_continue", "_addanother"])
def test_every_save_button_shows_the_secret(admin_http: HttpClient, scopes: dict[str, Scope],
                                            button: str) -> None:
    response = add_client(admin_http, scopes, **{button: "1"})
    client = Client.objects.get()
    assert check_secret(shown_secret(response), client.secret_hash)[0]


def test_adding_a_client_to_an_existing_project(admin_http: HttpClient,
                                                scopes: dict[str, Scope]) -> None:
    project = Project.objects.create(name="Existing")
    response = add_client(admin_http, scopes, project=project)
    assert response.status_code == 200
    assert Client.objects.get().project == project
    assert Project.objects.count() == 1


def test_the_add_form_has_no_secret_fields(admin_http: HttpClient,
                                           scopes: dict[str, Scope]) -> None:
    body = admin_http.get(CLIENTS + "add/").content.decode()
    assert 'name="name"' in body
    assert "secret_hash" not in body
    assert "client_id" not in body


def test_invalid_add_form_creates_nothing(admin_http: HttpClient,
                                          scopes: dict[str, Scope]) -> None:
    response = admin_http.post(CLIENTS + "add/", {"name": "", "project": ""})
    assert response.status_code == 200
    assert "oauth-cc-client-secret" not in response.content.decode()
    assert not Client.objects.exists()


def regenerate(http: HttpClient, client: Client) -> HttpResponse:
    return http.post(f"{CLIENTS}{client.pk}/regenerate-secret/")


def test_regenerate_shows_a_new_secret_once_and_the_old_one_stops_working(
        admin_http: HttpClient, http: HttpClient, oauth_client: tuple[Client, str]) -> None:
    client, old = oauth_client
    assert 'id="regenerate-secret-form"' in admin_http.get(
        f"{CLIENTS}{client.pk}/change/").content.decode()

    response = regenerate(admin_http, client)

    assert response.status_code == 200
    assert_never_cached(response)
    new = shown_secret(response)
    client.refresh_from_db()
    assert new != old
    assert check_secret(new, client.secret_hash)[0]
    assert "no longer works" in response.content.decode()
    assert_secret_kept_nowhere(admin_http, response, new)
    assert token_request(http, client.client_id, old).status_code == 401
    assert token_request(http, client.client_id, new).status_code == 200
    assert new not in admin_http.get(f"{CLIENTS}{client.pk}/change/").content.decode()


def test_regenerate_with_a_grace_period(admin_http: HttpClient, http: HttpClient,
                                        oauth_client: tuple[Client, str],
                                        frozen_clock: clock.FrozenClock) -> None:
    client, old = oauth_client
    with override_settings(OAUTH_CC={"ISSUER": ISSUER, "SECRET_ROTATION_GRACE_SECONDS": 60}):
        response = regenerate(admin_http, client)
        new = shown_secret(response)
        assert "still works until" in response.content.decode()
        assert token_request(http, client.client_id, old).status_code == 200
        assert token_request(http, client.client_id, new).status_code == 200
        frozen_clock.advance(61)
        assert token_request(http, client.client_id, old).status_code == 401
        assert token_request(http, client.client_id, new).status_code == 200


def test_regenerate_by_get_is_refused(admin_http: HttpClient,
                                      oauth_client: tuple[Client, str]) -> None:
    client, _ = oauth_client
    response = admin_http.get(f"{CLIENTS}{client.pk}/regenerate-secret/")
    assert response.status_code == 405
    assert Client.objects.get().secret_hash == client.secret_hash


def test_regenerate_needs_the_change_permission(oauth_client: tuple[Client, str]) -> None:
    client, _ = oauth_client
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_client"))
    http = HttpClient()
    http.force_login(viewer)

    assert "regenerate-secret-form" not in http.get(
        f"{CLIENTS}{client.pk}/change/").content.decode()
    assert regenerate(http, client).status_code == 403
    assert Client.objects.get().secret_hash == client.secret_hash


def test_regenerate_needs_a_csrf_token(superuser: User,
                                       oauth_client: tuple[Client, str]) -> None:
    client, _ = oauth_client
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(superuser)
    assert regenerate(http, client).status_code == 403
    assert Client.objects.get().secret_hash == client.secret_hash


def test_regenerate_unknown_client(admin_http: HttpClient, db: None) -> None:
    assert admin_http.post(f"{CLIENTS}999/regenerate-secret/").status_code == 404


def api_status(http: HttpClient, token: str) -> int:
    return http.get("/api/address", headers=bearer(token)).status_code


def test_disable_action_refuses_the_clients_tokens_at_once(
        admin_http: HttpClient, http: HttpClient, oauth_client: tuple[Client, str]) -> None:
    client, _ = oauth_client
    token = mint_token(client)
    assert api_status(http, token) == 200

    response = admin_http.post(CLIENTS, {"action": "disable_clients", "index": "0",
                                         "_selected_action": [client.pk]})

    assert response.status_code == 302
    assert api_status(http, token) == 401
    assert not Client.objects.get().is_active
    assert LogEntry.objects.filter(object_id=str(client.pk)).exists()

    admin_http.post(CLIENTS, {"action": "enable_clients", "index": "0",
                              "_selected_action": [client.pk]})
    assert api_status(http, token) == 200


def test_changelist_columns_filters_and_search(admin_http: HttpClient,
                                               make_client: Callable[..., tuple[Client, str]]
                                               ) -> None:
    client, _ = make_client(("address", "phone"), name="Searchable")
    other, _ = make_client(("email",), name="Other")
    body = admin_http.get(CLIENTS, {"q": client.client_id}).content.decode()
    assert "Searchable" in body
    assert "address, phone" in body
    assert other.client_id not in body
    assert admin_http.get(CLIENTS, {"scopes__id__exact": client.scopes.first().pk,
                                    "is_active__exact": "1"}).status_code == 200


def test_project_page_lists_its_clients(admin_http: HttpClient,
                                        oauth_client: tuple[Client, str]) -> None:
    client, _ = oauth_client
    body = admin_http.get(f"{PROJECTS}{client.project_id}/change/").content.decode()
    assert client.name in body
    assert client.client_id in body
    assert f"{CLIENTS}add/?project={client.project_id}" in body
    assert HASH_PREFIX not in body
    assert "clients-__prefix__" not in body  # no adding clients inline
    listing = admin_http.get(PROJECTS).content.decode()
    assert client.project.name in listing


def test_project_inline_disables_a_client_at_once(admin_http: HttpClient, http: HttpClient,
                                                  oauth_client: tuple[Client, str]) -> None:
    client, _ = oauth_client
    token = mint_token(client)
    response = admin_http.post(f"{PROJECTS}{client.project_id}/change/", {
        "name": client.project.name, "is_active": "on",
        "clients-TOTAL_FORMS": "1", "clients-INITIAL_FORMS": "1",
        "clients-MIN_NUM_FORMS": "0", "clients-MAX_NUM_FORMS": "1000",
        "clients-0-id": client.pk, "clients-0-project": client.project_id,
    })
    assert response.status_code == 302
    assert not Client.objects.get().is_active
    assert api_status(http, token) == 401


def test_disabling_a_project_refuses_its_tokens(admin_http: HttpClient, http: HttpClient,
                                                oauth_client: tuple[Client, str]) -> None:
    client, secret = oauth_client
    token = mint_token(client)
    admin_http.post(PROJECTS, {"action": "disable_projects", "index": "0",
                               "_selected_action": [client.project_id]})
    assert api_status(http, token) == 401
    assert token_request(http, client.client_id, secret).status_code == 401


def test_scope_list(admin_http: HttpClient, oauth_client: tuple[Client, str]) -> None:
    body = admin_http.get("/admin/oauth_cc/scope/").content.decode()
    assert "address APIs" in body
    assert 'class="field-client_count">1<' in body


@pytest.fixture
def signing_keys(db: None) -> list[SigningKey]:
    SigningKey.objects.active()  # the active key and a next key
    SigningKey.objects.rotate()  # and a retired one
    return list(SigningKey.objects.all())


def test_signing_key_pages_never_show_the_private_key(admin_http: HttpClient,
                                                      signing_keys: list[SigningKey]) -> None:
    pages = [KEYS] + [f"{KEYS}{key.pk}/change/" for key in signing_keys]
    for page in pages:
        response = admin_http.get(page)
        assert response.status_code == 200
        body = response.content.decode()
        assert CIPHERTEXT_PREFIX not in body
        assert "private_key" not in body
        for key in signing_keys:
            assert key.private_key_ciphertext not in body
        for member in ("d", "p", "q", "dp", "dq", "qi"):
            assert f"&quot;{member}&quot;" not in body
            assert f'"{member}":' not in body
    detail = admin_http.get(f"{KEYS}{signing_keys[0].pk}/change/").content.decode()
    assert signing_keys[0].kid in detail
    assert "&quot;n&quot;: &quot;" in detail  # the public JWK, pretty-printed


def test_signing_keys_cannot_be_added_changed_or_deleted(admin_http: HttpClient,
                                                         signing_keys: list[SigningKey]
                                                         ) -> None:
    key = signing_keys[0]
    assert admin_http.get(KEYS + "add/").status_code == 403
    assert admin_http.post(f"{KEYS}{key.pk}/change/", {"state": "retired"}).status_code == 403
    assert admin_http.post(f"{KEYS}{key.pk}/delete/", {"post": "yes"}).status_code == 403
    assert SigningKey.objects.get(pk=key.pk).state == key.state


def test_rotate_action(admin_http: HttpClient, signing_keys: list[SigningKey]) -> None:
    old = SigningKey.objects.active()
    upcoming = SigningKey.objects.get(state=SigningKeyState.NEXT)
    response = admin_http.post(KEYS, {"action": "rotate_keys", "index": "0",
                                      "_selected_action": [old.pk]}, follow=True)
    assert SigningKey.objects.active() == upcoming
    assert SigningKey.objects.get(pk=old.pk).state == SigningKeyState.RETIRED
    assert upcoming.kid in response.content.decode()


def test_rotate_button(admin_http: HttpClient, db: None) -> None:
    assert 'id="rotate-keys-form"' in admin_http.get(KEYS).content.decode()
    assert admin_http.get(KEYS + "rotate/").status_code == 405
    assert admin_http.post(KEYS + "rotate/").status_code == 302
    assert SigningKey.objects.filter(state=SigningKeyState.ACTIVE).count() == 1
    assert SigningKey.objects.filter(state=SigningKeyState.NEXT).count() == 1


def test_retire_next_key_replaces_it(admin_http: HttpClient,
                                     signing_keys: list[SigningKey]) -> None:
    active = SigningKey.objects.active()
    upcoming = SigningKey.objects.get(state=SigningKeyState.NEXT)
    admin_http.post(KEYS, {"action": "retire_keys", "index": "0",
                           "_selected_action": [upcoming.pk]})
    assert SigningKey.objects.active() == active
    assert not SigningKey.objects.filter(pk=upcoming.pk).exists()  # it never signed
    assert SigningKey.objects.filter(state=SigningKeyState.NEXT).count() == 1


def test_retire_active_key_rotates(admin_http: HttpClient,
                                   signing_keys: list[SigningKey]) -> None:
    active = SigningKey.objects.active()
    upcoming = SigningKey.objects.get(state=SigningKeyState.NEXT)
    admin_http.post(KEYS, {"action": "retire_keys", "index": "0",
                           "_selected_action": [active.pk]})
    assert SigningKey.objects.get(pk=active.pk).state == SigningKeyState.RETIRED
    assert SigningKey.objects.active() == upcoming


def test_key_actions_need_the_change_permission(signing_keys: list[SigningKey]) -> None:
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_signingkey"))
    http = HttpClient()
    http.force_login(viewer)
    active = SigningKey.objects.active()
    assert 'id="rotate-keys-form"' not in http.get(KEYS).content.decode()
    assert http.post(KEYS + "rotate/").status_code == 403
    http.post(KEYS, {"action": "rotate_keys", "index": "0", "_selected_action": [active.pk]})
    assert SigningKey.objects.active() == active


@pytest.mark.parametrize(("page", "lookup"), [
    ("/admin/oauth_cc/client/", "secret_hash__startswith"),
    ("/admin/oauth_cc/client/", "previous_secret_hash__isnull"),
    ("/admin/oauth_cc/signingkey/", "private_key_ciphertext__startswith"),
])
def test_changelists_refuse_lookups_on_what_they_never_show(
        admin_http: HttpClient, oauth_client: tuple[Client, str],
        signing_keys: list[SigningKey], page: str, lookup: str) -> None:
    """Else a hash or a ciphertext could be read off the list a prefix at a time."""
    response = admin_http.get(page, {lookup: "a"})
    assert response.status_code == 400  # Django's answer to a DisallowedModelAdminLookup
    assert admin_http.get(page, {"id__gte": "0"}).status_code == 200  # other fields work


TEMPLATE_SYNTAX = re.compile(r"\{#|#\}|\{%|%\}|\{\{|\}\}")


def visible_text(response: HttpResponse) -> str:
    """The page's text without tags, <style> or <script>: what a reader sees."""
    html = re.sub(r"<(style|script)\b.*?</\1>", "", response.content.decode(), flags=re.S)
    return re.sub(r"<[^>]*>", " ", html)


def test_no_template_has_a_multi_line_short_comment() -> None:
    """Django's {# #} is one line: a longer one is printed as text (it was, atop the pages)."""
    from pathlib import Path

    import oauth_cc

    root = Path(oauth_cc.__file__).parent / "templates"
    for template in root.rglob("*.html"):
        for number, line in enumerate(template.read_text().splitlines(), 1):
            assert line.count("{#") == line.count("#}"), f"{template.name}:{number}"


def test_every_admin_page_of_the_app_shows_no_template_syntax(
        admin_http: HttpClient, oauth_client: tuple[Client, str],
        signing_keys: list[SigningKey]) -> None:
    client, _ = oauth_client
    pages = [CLIENTS, f"{CLIENTS}add/", f"{CLIENTS}{client.pk}/change/", PROJECTS,
             f"{PROJECTS}add/", f"{PROJECTS}{client.project_id}/change/", "/admin/oauth_cc/scope/",
             "/admin/oauth_cc/scope/add/", KEYS, f"{KEYS}{signing_keys[0].pk}/change/",
             "/admin/oauth_cc/"]
    for page in pages:
        response = admin_http.get(page)
        assert response.status_code == 200, page
        found = TEMPLATE_SYNTAX.search(visible_text(response))
        assert found is None, (page, visible_text(response)[found.start() - 80:found.end() + 80])
    shown = regenerate(admin_http, client)
    assert TEMPLATE_SYNTAX.search(visible_text(shown)) is None


def test_introspection_is_labelled_a_permission_of_the_client(
        admin_http: HttpClient, scopes: dict[str, Scope]) -> None:
    Scope.objects.get_or_create(name="introspection")
    page = admin_http.get(f"{CLIENTS}add/").content.decode()
    assert re.search(r"introspection \(a permission of the client: it may introspect other "
                     r"clients(&#x27;|')s? tokens; never granted in a token\)", page)
    assert re.search(r">\s*address</label>", page)  # a token scope keeps its plain name


# Secretless clients: private_key_jwt (CONTRACT.md §11).

def change_client(http: HttpClient, client: Client, **fields: Any) -> HttpResponse:
    """POST the client's change form as it stands, with ``fields`` changed."""
    data = {"name": client.name, "project": client.project_id,
            "scopes": list(client.scopes.values_list("pk", flat=True)),
            "is_active": "on" if client.is_active else "", "auth_method": client.auth_method,
            "jwks": json.dumps(client.jwks) if client.jwks else "",
            "jwks_uri": client.jwks_uri, **fields}
    return http.post(f"{CLIENTS}{client.pk}/change/", data)


def field_errors(response: HttpResponse, field: str) -> str:
    """The errors Django's admin shows on ``field`` of the form."""
    errors = response.context["adminform"].form.errors
    return " ".join(errors.get(field, []))


def test_adding_a_secretless_client_shows_no_secret(admin_http: HttpClient, http: HttpClient,
                                                    scopes: dict[str, Scope]) -> None:
    key, document = new_key("k1")

    response = add_client(admin_http, scopes, auth_method="private_key_jwt",
                          jwks=json.dumps(document))

    assert response.status_code == 302  # the admin's usual redirect: no secret to show
    client = Client.objects.get(name="Acme app")
    assert (client.auth_method, client.secret_hash, client.jwks) == (
        "private_key_jwt", "", document)
    page = admin_http.get(response["Location"], follow=True).content.decode()
    assert "oauth-cc-client-secret" not in page
    assert key_token_request(http, client.client_id, key).status_code == 200
    change = admin_http.get(f"{CLIENTS}{client.pk}/change/").content.decode()
    assert re.search(r'<div class="readonly">k1</div>', change)  # the registered key ids
    assert 'id="regenerate-secret-form"' not in change  # it has no secret to regenerate
    assert "no secret: the client authenticates with its private key" in change
    assert "private_key_jwt" in admin_http.get(CLIENTS).content.decode()  # a column


@pytest.mark.parametrize(("fields", "field", "error"), [
    ({"jwks": "{not json"}, "jwks", "not valid JSON"),
    ({"jwks": '{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}'}, "jwks", "This is a private key"),
    ({"jwks": json.dumps({"keys": [{"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}]})},
     "jwks", "only P-256"),
    ({}, "jwks", "Paste the client's public JWK Set"),
    ({"jwks_uri": "http://keys.example.test/jwks"}, "jwks_uri", "must use https"),
])
def test_an_invalid_key_set_is_a_form_error(admin_http: HttpClient, scopes: dict[str, Scope],
                                            fields: dict[str, str], field: str,
                                            error: str) -> None:
    response = add_client(admin_http, scopes, auth_method="private_key_jwt", **fields)
    assert response.status_code == 200
    assert error in field_errors(response, field)
    assert not Client.objects.exists()


def test_a_pasted_private_key_is_refused_and_not_shown_again(
        admin_http: HttpClient, oauth_client: tuple[Client, str]) -> None:
    client, _ = oauth_client
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    before = Client.objects.values().get(pk=client.pk)

    response = change_client(admin_http, client, auth_method="private_key_jwt", jwks=pem)

    assert response.status_code == 200
    assert "This is a private key" in field_errors(response, "jwks")
    assert pem.splitlines()[1] not in response.content.decode()
    assert response.wsgi_request.sensitive_post_parameters == "__ALL__"  # error reports
    assert Client.objects.values().get(pk=client.pk) == before


def test_switch_a_client_to_private_key_jwt_and_back(
        admin_http: HttpClient, http: HttpClient, oauth_client: tuple[Client, str]) -> None:
    client, old_secret = oauth_client
    key, document = new_key("k1")

    response = change_client(admin_http, client, auth_method="private_key_jwt",
                             jwks=json.dumps(document))

    assert response.status_code == 302
    client.refresh_from_db()
    assert (client.auth_method, client.secret_hash) == ("private_key_jwt", "")
    assert token_request(http, client.client_id, old_secret).status_code == 401
    assert key_token_request(http, client.client_id, key).status_code == 200
    entry = LogEntry.objects.filter(object_id=str(client.pk)).latest("pk")
    assert "Client authentication" in entry.get_change_message()

    back = change_client(admin_http, client, auth_method="client_secret")

    assert back.status_code == 200
    assert_never_cached(back)
    assert "its registered keys no longer work" in back.content.decode()
    secret = shown_secret(back)
    client.refresh_from_db()
    assert (client.auth_method, client.jwks) == ("client_secret", None)
    assert check_secret(secret, client.secret_hash)[0]
    assert token_request(http, client.client_id, secret).status_code == 200
    assert key_token_request(http, client.client_id, key).status_code == 401
    assert_secret_kept_nowhere(admin_http, back, secret)
    assert secret not in admin_http.get(f"{CLIENTS}{client.pk}/change/").content.decode()


def test_keys_are_replaced_and_other_changes_keep_them(
        admin_http: HttpClient, http: HttpClient, scopes: dict[str, Scope]) -> None:
    old, old_document = new_key("old")
    client = Client.objects.create_secretless_client("Keyed", scopes=["address"],
                                                     jwks=old_document)

    renamed = change_client(admin_http, client, name="Keyed server")  # the set as shown
    assert renamed.status_code == 302
    assert key_token_request(http, client.client_id, old, "old").status_code == 200

    new, new_document = new_key("new")
    assert change_client(admin_http, client, jwks=json.dumps(new_document)).status_code == 302
    assert key_token_request(http, client.client_id, new, "new").status_code == 200
    assert key_token_request(http, client.client_id, old, "old").status_code == 401

    uri = "https://keys.example.test/jwks.json"
    assert change_client(admin_http, client, jwks="", jwks_uri=uri).status_code == 302
    client.refresh_from_db()
    assert (client.jwks, client.jwks_uri) == (None, uri)
    page = admin_http.get(f"{CLIENTS}{client.pk}/change/").content.decode()
    assert f"Fetched from the JWK Set URL when needed: {uri}" in page


def test_an_invalid_change_never_changes_the_client(admin_http: HttpClient,
                                                    oauth_client: tuple[Client, str]) -> None:
    client, _ = oauth_client
    before = Client.objects.values().get(pk=client.pk)
    response = change_client(admin_http, client, auth_method="private_key_jwt",
                             jwks='{"keys": "nope"}')
    assert response.status_code == 200
    assert 'A JWK Set is a JSON object with a "keys" list.' in field_errors(response, "jwks")
    assert Client.objects.values().get(pk=client.pk) == before


def test_regenerate_gives_a_secretless_client_a_secret(admin_http: HttpClient,
                                                       http: HttpClient,
                                                       scopes: dict[str, Scope]) -> None:
    key, document = new_key()
    client = Client.objects.create_secretless_client("Keyed", scopes=["address"], jwks=document)

    response = regenerate(admin_http, client)

    assert response.status_code == 200
    secret = shown_secret(response)
    assert "its registered keys no longer work" in response.content.decode()
    assert token_request(http, client.client_id, secret).status_code == 200
    assert key_token_request(http, client.client_id, key).status_code == 401


def test_the_secretless_client_pages_show_no_template_syntax(
        admin_http: HttpClient, scopes: dict[str, Scope]) -> None:
    client = Client.objects.create_secretless_client("Keyed", scopes=["address"],
                                                     jwks=new_key()[1])
    for page in (f"{CLIENTS}{client.pk}/change/", CLIENTS, f"{CLIENTS}add/"):
        response = admin_http.get(page)
        assert response.status_code == 200
        assert TEMPLATE_SYNTAX.search(visible_text(response)) is None, page


def test_require_dpop_on_the_add_and_change_forms_and_the_list(
        admin_http: HttpClient, http: HttpClient, scopes: dict[str, Scope]) -> None:
    """CONTRACT.md §12: staff turn require_dpop on and off; the token endpoint applies it at
    once (saved with save(): post_save drops the cached record), and it is audited."""
    assert 'name="require_dpop"' in admin_http.get(CLIENTS + "add/").content.decode()
    response = add_client(admin_http, scopes, name="Bound", require_dpop="on")
    assert Client.objects.get(name="Bound").require_dpop
    client = Client.objects.get(client_id=re.search(
        r'id="oauth-cc-client-id" value="([^"]+)"', response.content.decode()).group(1))
    secret = shown_secret(response)
    refused = token_request(http, client.client_id, secret)
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_dpop_proof")

    page = admin_http.get(f"{CLIENTS}{client.pk}/change/").content.decode()
    assert 'name="require_dpop"' in page and "checked" in page.split('name="require_dpop"')[1]
    assert change_client(admin_http, client).status_code == 302  # unticked: off
    assert not Client.objects.get(pk=client.pk).require_dpop
    assert token_request(http, client.client_id, secret).status_code == 200
    updated: list[dict[str, Any]] = []

    def receiver(sender: object, **fields: Any) -> None:
        updated.append(fields)

    audit.client_updated.connect(receiver)
    try:
        assert change_client(admin_http, client, require_dpop="on").status_code == 302
    finally:
        audit.client_updated.disconnect(receiver)
    assert token_request(http, client.client_id, secret).status_code == 400
    assert [fields["fields"] for fields in updated] == [["require_dpop"]]

    changelist = admin_http.get(CLIENTS)
    assert "require_dpop" in changelist.context["cl"].list_display
    assert admin_http.get(CLIENTS, {"require_dpop__exact": "1"}).context["cl"].result_count == 1


def test_tokens_per_hour_on_the_change_form_applies_at_once(
        admin_http: HttpClient, http: HttpClient, scopes: dict[str, Scope]) -> None:
    """CONTRACT.md §14: staff give a client its own token quota; the token endpoint applies
    it at once, a quota of 0 is refused by the form, and the change is audited."""
    client, secret = Client.objects.create_client("Quota", scopes=["address"])
    assert 'name="tokens_per_hour"' in admin_http.get(
        f"{CLIENTS}{client.pk}/change/").content.decode()
    refused = change_client(admin_http, client, tokens_per_hour="0")
    assert refused.status_code == 200 and field_errors(refused, "tokens_per_hour")
    updated: list[dict[str, Any]] = []

    def receiver(sender: object, **fields: Any) -> None:
        updated.append(fields)

    audit.client_updated.connect(receiver)
    try:
        assert change_client(admin_http, client, tokens_per_hour="1").status_code == 302
    finally:
        audit.client_updated.disconnect(receiver)
    assert Client.objects.get(pk=client.pk).tokens_per_hour == 1
    assert [fields["fields"] for fields in updated] == [["tokens_per_hour"]]
    assert token_request(http, client.client_id, secret).status_code == 200
    over = token_request(http, client.client_id, secret)
    assert (over.status_code, over.json()["error"]) == (429, "slow_down")
