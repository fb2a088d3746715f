"""A real browser creates a client in the admin, reads its secret off the page, and gets a token
with it (CONTRACT.md §6), and switches a client to private_key_jwt and back (§11).
``OAUTH_CC_SCREENSHOT=1`` saves docs/admin-secret-once.png."""

from __future__ import annotations

import json
import os
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
from oauth_cc.keyring import key_ring
from oauth_cc.models import Client, Scope, SigningKey

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "admin-secret-once.png"

pytestmark = pytest.mark.browser
PASSWORD = "browser-test-password"  # a test user's


def log_in_to_the_admin(page: Any, base: str, then: str) -> None:
    """Sign in as the superuser ``admin`` through the login page, then be at ``then``."""
    page.goto(f"{base}/admin/login/?next={then}")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{then}")


def test_add_client_in_the_admin_and_use_its_secret(
        transactional_db: None, scopes: dict[str, Scope], live_server: LiveServer,
        chromium: Callable[[], Any]) -> None:
    User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    base = live_server.url

    with chromium() as page:
        log_in_to_the_admin(page, base, "/admin/oauth_cc/client/add/")

        page.fill("#id_name", "Browser app")
        page.get_by_label("address", exact=True).check()
        page.get_by_label("phone", exact=True).check()
        with page.expect_navigation() as navigation:
            page.click("input[name=_save]")
        response = navigation.value

        assert response.status == 200
        assert "no-store" in response.headers["cache-control"]
        warning = page.locator("#secret-warning")
        assert warning.is_visible()
        assert "will not be shown again" in warning.inner_text()
        client_id = page.input_value("#oauth-cc-client-id")
        secret = page.input_value("#oauth-cc-client-secret")
        assert client_id
        assert secret
        if os.environ.get("OAUTH_CC_SCREENSHOT") == "1":
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)

        page.click("button[data-copy=oauth-cc-client-secret]")
        assert page.evaluate("navigator.clipboard.readText()") == secret

        # Connection: close, so no idle keep-alive connection outlives the test.
        token = requests.post(f"{base}/oauth/token", data={
            "grant_type": "client_credentials", "client_id": client_id,
            "client_secret": secret, "scope": "address phone"}, timeout=10,
            headers={"Connection": "close"})
        assert token.status_code == 200, token.text
        assert token.json()["token_type"] == "Bearer"
        assert token.json()["scope"] == "address phone"

        page.click("text=Go to the client")
        page.wait_for_url("**/change/")
        assert client_id in page.content()
        assert secret not in page.content()
        page.goto(f"{base}/admin/oauth_cc/client/")
        assert secret not in page.content()

    client = Client.objects.get(client_id=client_id)
    assert check_secret(secret, client.secret_hash)[0]
    assert sorted(client.scopes.values_list("name", flat=True)) == ["address", "phone"]


TEMPLATE_SYNTAX = ("{#", "#}", "{%", "%}", "{{", "}}")


def test_every_admin_page_of_the_app_reads_clean(
        transactional_db: None, scopes: dict[str, Scope], live_server: LiveServer,
        chromium: Callable[[], Any]) -> None:
    """Each of the app's admin pages, as a reader sees it: no template syntax in the text."""
    User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    client, _ = Client.objects.create_client("Browser app", scopes=["address"])
    key = key_ring.signing_key()
    key_pk = SigningKey.objects.get(kid=key.kid).pk
    base = live_server.url
    pages = ["/admin/oauth_cc/", "/admin/oauth_cc/client/", "/admin/oauth_cc/client/add/",
             f"/admin/oauth_cc/client/{client.pk}/change/", "/admin/oauth_cc/project/",
             "/admin/oauth_cc/project/add/", f"/admin/oauth_cc/project/{client.project_id}/change/",
             "/admin/oauth_cc/scope/", "/admin/oauth_cc/scope/add/",
             "/admin/oauth_cc/signingkey/", f"/admin/oauth_cc/signingkey/{key_pk}/change/"]

    with chromium() as page:
        log_in_to_the_admin(page, base, "/admin/oauth_cc/")
        for path in pages:
            response = page.goto(base + path)
            assert response is not None and response.status == 200, path
            text = page.inner_text("body")
            assert not [s for s in TEMPLATE_SYNTAX if s in text], (path, text[:400])
        # The page that shows a secret once, reached the way a person reaches it.
        page.goto(f"{base}/admin/oauth_cc/client/{client.pk}/change/")
        page.once("dialog", lambda dialog: dialog.accept())  # "Regenerate the secret?"
        with page.expect_navigation():
            page.click("text=Regenerate secret")
        text = page.inner_text("body")
        assert "will not be shown again" in text
        assert not [s for s in TEMPLATE_SYNTAX if s in text], text[:400]


def test_switch_a_client_to_private_key_jwt_and_back_in_the_admin(
        transactional_db: None, scopes: dict[str, Scope], live_server: LiveServer,
        chromium: Callable[[], Any], settings: Any) -> None:
    """Paste a public JWK Set on the client's page: its secret stops working and its key
    works; choose the client secret again: a new secret is shown once (CONTRACT.md §11)."""
    base = live_server.url
    settings.OAUTH_CC = {"ISSUER": base}  # the assertion's aud is this server's token URL
    User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    client, old_secret = Client.objects.create_client("Browser app", scopes=["address"])
    key = ec.generate_private_key(ec.SECP256R1())
    change = f"/admin/oauth_cc/client/{client.pk}/change/"

    with chromium() as page:
        log_in_to_the_admin(page, base, change)
        page.get_by_label("private_key_jwt", exact=False).check()
        page.fill("#id_jwks", json.dumps(public_jwk_set(key, "browser-key")))
        with page.expect_navigation():
            page.click("input[name=_continue]")
        assert "browser-key" in page.inner_text(".field-key_ids")
        assert page.locator("#regenerate-secret-form").count() == 0
        assert secret_token(base, client.client_id, old_secret).status_code == 401
        assert key_token(base, client.client_id, key, "browser-key").status_code == 200

        page.get_by_label("client secret", exact=False).check()
        with page.expect_navigation() as navigation:
            page.click("input[name=_save]")
        assert "no-store" in navigation.value.headers["cache-control"]
        assert "no longer work" in page.inner_text("#previous-secret")
        new_secret = page.input_value("#oauth-cc-client-secret")
        assert secret_token(base, client.client_id, new_secret).status_code == 200
        assert key_token(base, client.client_id, key, "browser-key").status_code == 401

    client.refresh_from_db()
    assert check_secret(new_secret, client.secret_hash)[0]


def secret_token(base: str, client_id: str, secret: str) -> requests.Response:
    return requests.post(f"{base}/oauth/token", timeout=10, headers={"Connection": "close"},
                         data={"grant_type": "client_credentials", "client_id": client_id,
                               "client_secret": secret})


def key_token(base: str, client_id: str, key: Any, kid: str) -> requests.Response:
    token_url = f"{base}/oauth/token"
    return requests.post(token_url, timeout=10, headers={"Connection": "close"}, data={
        "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": AssertionSigner.load(key, kid).assertion(client_id, token_url)})
