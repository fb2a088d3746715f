"""Code in a browser on another origin can read the JWK Set and the metadata (CORS)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pytest_django.live_server_helper import LiveServer

from oauth_cc.models import SigningKey

pytestmark = pytest.mark.browser

READ = "url => fetch(url).then(r => r.json()).catch(e => ({failed: String(e)}))"


def test_a_page_on_another_origin_reads_the_public_documents(
        transactional_db: None, live_server: LiveServer, chromium: Callable[[], Any]) -> None:
    base = live_server.url  # http://127.0.0.1:PORT
    other_origin = base.replace("127.0.0.1", "localhost")
    with chromium() as page:
        page.goto(f"{other_origin}/admin/login/")
        jwks = page.evaluate(READ, f"{base}/.well-known/jwks.json")
        metadata = page.evaluate(READ, f"{base}/.well-known/oauth-authorization-server")
        # The token endpoint sends no such header: a browser page cannot read its answers.
        token = page.evaluate(
            "url => fetch(url, {method: 'POST', body: new URLSearchParams({grant_type: "
            "'client_credentials'})}).then(r => r.json()).catch(e => ({failed: String(e)}))",
            f"{base}/oauth/token")

    published = set(SigningKey.objects.published().values_list("kid", flat=True))
    assert {key["kid"] for key in jwks["keys"]} == published
    assert metadata["jwks_uri"].endswith("/.well-known/jwks.json")
    assert "Failed to fetch" in token["failed"]
