"""A customer, in a real browser, creates a client on the portal's Credentials page, reads the
secret off the page, gets a token with it and calls an API; the secret is gone on reload;
regenerating makes the old secret fail (CONTRACT.md §10). And the same without JavaScript. A
secretless client made by pasting a public JWK Set (§11).

``OAUTH_CC_SCREENSHOT=1`` saves docs/portal-credentials.png and docs/portal-secret-once.png.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.auth.models import User
from pytest_django.live_server_helper import LiveServer

from oauth_cc.client.private_key import ASSERTION_TYPE, AssertionSigner, public_jwk_set
from oauth_cc.credentials import check_secret
from oauth_cc.models import Client, Project, Scope

DOCS = Path(__file__).resolve().parents[2] / "docs"
PASSWORD = "portal-browser-test-password"
SCOPE_DESCRIPTIONS = {
    "address": "Access to address autocomplete, verification, and metadata APIs",
    "phone": "Access to phone verification API",
    "email": "Access to email verification API",
}

pytestmark = pytest.mark.browser


def customer_project(scopes: dict[str, Scope]) -> Project:
    customer = User.objects.create_user("customer", "customer@example.com", PASSWORD)
    project = Project.objects.create(name="Acme Ltd")
    project.members.add(customer)
    project.scopes.set([scopes["address"], scopes["phone"], scopes["email"]])
    return project


def token(base: str, client_id: str, secret: str) -> requests.Response:
    # Connection: close, so no idle keep-alive connection outlives the test.
    return requests.post(f"{base}/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        timeout=10, headers={"Connection": "close"})


def log_in(page: Any, base: str) -> None:
    page.goto(f"{base}/portal/")
    page.wait_for_url("**/accounts/login/?next=/portal/")
    page.get_by_label("Username").fill("customer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/portal/")


def screenshot(page: Any, name: str) -> None:
    if os.environ.get("OAUTH_CC_SCREENSHOT") == "1":
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / name), full_page=True)


def test_create_use_reload_and_regenerate_in_the_portal(
        transactional_db: None, scopes: dict[str, Scope], live_server: LiveServer,
        chromium: Callable[[], Any], settings: Any) -> None:
    base = live_server.url
    settings.OAUTH_CC = {"ISSUER": base}  # the token endpoint the pages name is the real one
    for name, description in SCOPE_DESCRIPTIONS.items():  # as a site describes them
        Scope.objects.filter(name=name).update(description=description)
    project = customer_project(scopes)
    Client.objects.create_client("Staging server", project=project, scopes=["address"])
    credentials = f"{base}/portal/projects/{project.pk}/credentials/"

    with chromium() as page:
        log_in(page, base)
        page.get_by_role("link", name="Credentials of Acme Ltd").click()
        page.wait_for_url(credentials)
        assert page.get_by_role("heading", name="Credentials", exact=True).is_visible()

        page.get_by_label("Name").fill("Production server")
        page.get_by_role("checkbox", name=re.compile(r"^address")).check()
        page.get_by_role("checkbox", name=re.compile(r"^phone")).check()
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name="Create OAuth2 Client ID and Secret").click()
        response = navigation.value
        assert response.status == 200
        assert "no-store" in response.headers["cache-control"]
        assert "will not be shown again" in page.locator("#secret-warning").inner_text()
        client_id = page.input_value("#oauth-cc-client-id")
        secret = page.input_value("#oauth-cc-client-secret")
        assert client_id and secret
        assert page.get_by_label("Client secret").get_attribute("readonly") is not None
        screenshot(page, "portal-secret-once.png")

        page.get_by_role("button", name="Copy client secret").click()
        assert page.evaluate("navigator.clipboard.readText()") == secret
        assert page.locator("#oauth-cc-client-secret-copied").inner_text() == "Copied"

        issued = token(base, client_id, secret)
        assert issued.status_code == 200, issued.text
        assert issued.json()["scope"] == "address phone"
        api = requests.get(f"{base}/api/address", timeout=10, headers={
            "Authorization": f"Bearer {issued.json()['access_token']}", "Connection": "close"})
        assert api.status_code == 200, api.text
        assert api.json()["client_id"] == client_id

        page.get_by_role("link", name=re.compile("back to Credentials")).click()
        page.wait_for_url(credentials)
        assert client_id in page.content() and secret not in page.content()
        page.reload()
        assert client_id in page.content() and secret not in page.content()
        row = page.locator(f"#client-{client_id}")
        assert "Never" not in row.inner_text()  # last used: just now
        screenshot(page, "portal-credentials.png")

        row.locator("summary", has_text="Regenerate secret").click()
        with page.expect_navigation():
            row.get_by_role("button", name="Issue a new secret").click()
        new_secret = page.input_value("#oauth-cc-client-secret")
        assert new_secret and new_secret != secret
        assert page.input_value("#oauth-cc-client-id") == client_id
        assert token(base, client_id, secret).status_code == 401
        assert token(base, client_id, new_secret).status_code == 200

    client = Client.objects.get(client_id=client_id)
    assert check_secret(new_secret, client.secret_hash)[0]
    assert client.project_id == project.pk


def test_the_portal_works_without_javascript(
        transactional_db: None, scopes: dict[str, Scope], live_server: LiveServer,
        chromium: Callable[[], Any]) -> None:
    project = customer_project(scopes)
    base = live_server.url

    with chromium() as first_page:
        context = first_page.context.browser.new_context(java_script_enabled=False)
        page = context.new_page()
        log_in(page, base)
        page.goto(f"{base}/portal/projects/{project.pk}/credentials/")
        page.get_by_label("Name").fill("No-JS server")
        page.get_by_role("checkbox", name=re.compile(r"^email")).check()
        with page.expect_navigation():
            page.get_by_role("button", name="Create OAuth2 Client ID and Secret").click()
        client_id = page.input_value("#oauth-cc-client-id")
        secret = page.input_value("#oauth-cc-client-secret")
        assert not page.get_by_role("button", name="Copy client secret").is_visible()
        assert token(base, client_id, secret).status_code == 200

        page.goto(f"{base}/portal/projects/{project.pk}/credentials/")
        row = page.locator(f"#client-{client_id}")
        with page.expect_navigation():
            row.get_by_role("button", name="Disable No-JS server").click()
        assert "is disabled" in page.content()
        assert token(base, client_id, secret).status_code == 401
        row = page.locator(f"#client-{client_id}")
        row.locator("summary", has_text="Delete").click()  # <details>: no JavaScript needed
        with page.expect_navigation():
            row.get_by_role("button", name="Delete permanently").click()
        assert "is deleted" in page.content()
        context.close()

    assert not Client.objects.filter(client_id=client_id).exists()


def test_create_a_secretless_client_and_give_it_a_secret_in_the_portal(
        transactional_db: None, scopes: dict[str, Scope], live_server: LiveServer,
        chromium: Callable[[], Any], settings: Any) -> None:
    """A customer pastes a public JWK Set in the create form: no secret is shown, the key
    gets tokens; then "Use a secret" shows a secret once and the key stops working (§11)."""
    base = live_server.url
    settings.OAUTH_CC = {"ISSUER": base}
    project = customer_project(scopes)
    key = ec.generate_private_key(ec.SECP256R1())
    credentials = f"{base}/portal/projects/{project.pk}/credentials/"

    with chromium() as page:
        log_in(page, base)
        page.goto(credentials)
        page.get_by_label("Name").fill("Keyed server")
        page.get_by_role("checkbox", name=re.compile(r"^address")).check()
        page.get_by_role("radio", name=re.compile("private_key_jwt")).check()
        page.get_by_label("Public JWK Set").fill(json.dumps(public_jwk_set(key, "key-1")))
        with page.expect_navigation():
            page.get_by_role("button", name="Create OAuth2 Client ID and Secret").click()
        page.wait_for_url(credentials)
        assert page.locator("#oauth-cc-client-secret").count() == 0
        assert "it has no secret" in page.content()
        client_id = page.locator("tbody tr code").first.inner_text()
        row = page.locator(f"#client-{client_id}")
        assert "Private key" in row.inner_text() and "key-1" in row.inner_text()
        assert key_token(base, client_id, key).status_code == 200

        row.locator("summary", has_text="Use a secret").click()
        with page.expect_navigation():
            row.get_by_role("button", name="Issue a secret").click()
        secret = page.input_value("#oauth-cc-client-secret")
        assert "no longer work" in page.inner_text("#previous-secret")
        assert token(base, client_id, secret).status_code == 200
        assert key_token(base, client_id, key).status_code == 401

    assert Client.objects.get(client_id=client_id).auth_method == "client_secret"


def key_token(base: str, client_id: str, key: Any) -> requests.Response:
    token_url = f"{base}/oauth/token"
    return requests.post(token_url, timeout=10, headers={"Connection": "close"}, data={
        "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": AssertionSigner.load(key, "key-1").assertion(client_id, token_url)})
