"""The demo's Swagger UI in a real browser (CONTRACT.md §13): Authorize with the demo client's
id and secret gets a token from our token endpoint, and "Try it out" on the address
autocomplete answers 200 with completions; every request stays on the loopback host (the
page's own files come from drf-spectacular-sidecar, not a CDN).

``OAUTH_CC_SCREENSHOT=1`` saves docs/swagger-ui.png.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from tests.browser.conftest import DemoServer

pytest.importorskip("drf_spectacular_sidecar", reason="the [openapi] extra is not installed")

DOCS = Path(__file__).resolve().parents[2] / "docs"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

pytestmark = pytest.mark.browser


def test_authorize_and_try_the_address_autocomplete(
        demo_server: DemoServer, chromium: Callable[[], Any]) -> None:
    base = demo_server.url
    requests: list[tuple[str, str, dict[str, str]]] = []
    with chromium() as page:
        page.context.on("request", lambda r: requests.append((r.method, r.url, r.headers)))
        page.goto(f"{base}/api/docs/")

        page.get_by_role("button", name="Authorize").first.click()
        dialog = page.locator(".dialog-ux")
        assert "clientCredentials" in dialog.inner_text()
        assert f"{base}/oauth/token" in dialog.inner_text()  # the scheme's tokenUrl
        dialog.get_by_label("client_id:").fill(demo_server.client_id)
        dialog.get_by_label("client_secret:").fill(demo_server.client_secret)
        dialog.locator("label", has_text="Access to address autocomplete").click()
        with page.expect_response(f"{base}/oauth/token") as issued:
            dialog.get_by_role("button", name="Apply given OAuth2 credentials").click()
        assert issued.value.status == 200, issued.value.text()
        assert issued.value.json()["scope"] == "address"
        # Authorized: the dialog now offers to log out ("Remove authorization").
        dialog.get_by_role("button", name="Remove authorization").wait_for()
        dialog.get_by_role("button", name="Close").click()

        operation = page.locator("#operations-address-au_address_autocomplete_retrieve")
        operation.locator(".opblock-summary").click()
        operation.get_by_role("button", name="Try it out").click()
        operation.locator("tr[data-param-name='q'] input").fill("274 Harb")
        with page.expect_response(lambda r: "/api/au/address/autocomplete/" in r.url) as api:
            operation.get_by_role("button", name="Execute").click()
        assert api.value.status == 200, api.value.text()
        completions = api.value.json()["completions"]
        assert {"full_address": "274 Harbour Drive, COFFS HARBOUR NSW 2450",
                "id": completions[0]["id"]} in completions
        shown = operation.locator(".live-responses-table")
        shown.locator(".response-col_status", has_text="200").wait_for()
        assert "274 Harbour Drive, COFFS HARBOUR NSW 2450" in shown.inner_text()
        if os.environ.get("OAUTH_CC_SCREENSHOT") == "1":
            # From the top of the page down to the answer's body.
            bottom = shown.locator(".response-col_description .highlight-code").first.evaluate(
                "e => e.getBoundingClientRect().bottom + window.scrollY")
            DOCS.mkdir(exist_ok=True)
            page.screenshot(path=str(DOCS / "swagger-ui.png"), full_page=True,
                            clip={"x": 0, "y": 0, "width": 1280, "height": bottom + 16})

    token_request = next(r for r in requests if r[0] == "POST")
    # Swagger UI sends a clientCredentials flow's client id and secret as HTTP Basic
    # (client_secret_basic), and nothing in the token endpoint's query.
    assert token_request[1] == f"{base}/oauth/token"
    expected = base64.b64encode(
        f"{demo_server.client_id}:{demo_server.client_secret}".encode()).decode()
    assert token_request[2]["authorization"] == f"Basic {expected}"
    api_request = next(r for r in requests if "/api/au/address/autocomplete/" in r[1])
    assert api_request[2]["authorization"].startswith("Bearer ")
    # Nothing left the loopback host: no CDN, no font or analytics request.
    elsewhere = [url for _, url, _ in requests
                 if urlsplit(url).scheme not in ("data", "blob")
                 and urlsplit(url).hostname not in LOOPBACK]
    assert not elsewhere
    assert any("/static/drf_spectacular_sidecar/swagger-ui-dist/" in url
               for _, url, _ in requests)
