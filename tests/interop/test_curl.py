"""Plain ``curl``, exactly as the seed document shows it (CONTRACT.md §8).

The commands are the seed's, with only ``-sS`` (quiet) and ``-D -`` (print the response
headers) added so the test can read the answer.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from email.parser import HeaderParser
from typing import Any

import pytest

from oauth_cc.models import Client
from tests.interop.claims import check_access_token
from tests.interop.support import Issuer, unavailable

pytestmark = pytest.mark.interop


@pytest.fixture(scope="session")
def curl() -> str:
    path = shutil.which("curl")
    if path is None:
        unavailable("curl is not installed")
    return path


def run_curl(curl: str, *args: str) -> tuple[int, dict[str, str], Any]:
    """Run curl; return the final status, the response headers and the JSON body."""
    result = subprocess.run([curl, "-sS", "-D", "-", *args], capture_output=True,
                            timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    head, _, body = result.stdout.decode().partition("\r\n\r\n")
    status_line, _, header_lines = head.partition("\r\n")
    headers = dict(HeaderParser().parsestr(header_lines).items())
    return int(status_line.split()[1]), headers, json.loads(body)


def assert_no_store(headers: dict[str, str]) -> None:
    """RFC 6749 §5.1/§5.2: token responses, errors included, are JSON and never cached."""
    assert headers["Content-Type"] == "application/json"
    assert "no-store" in [v.strip() for v in headers["Cache-Control"].split(",")]


def assert_token_response_headers(headers: dict[str, str]) -> None:
    assert_no_store(headers)
    assert headers["Pragma"] == "no-cache"


def test_seed_example_request(curl: str, issuer: Issuer, client_pair: tuple[Client, str]
                              ) -> None:
    client, secret = client_pair
    before = time.time()
    status, headers, body = run_curl(
        curl, "-X", "POST", issuer.token_url,
        "-d", "grant_type=client_credentials",
        "-d", f"client_id={client.client_id}",
        "-d", f"client_secret={secret}",
        "-d", "scope=address phone",
    )

    assert status == 200, body
    assert_token_response_headers(headers)
    assert body.keys() == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == "address phone"
    check_access_token(body["access_token"], issuer=issuer.url, audience=issuer.audience,
                       client=client, scope="address phone", issued_after=before)


def test_seed_example_request_with_custom_expiry(curl: str, issuer: Issuer,
                                                 client_pair: tuple[Client, str]) -> None:
    client, secret = client_pair
    before = time.time()
    status, headers, body = run_curl(
        curl, "-X", "POST", issuer.token_url,
        "-d", "grant_type=client_credentials",
        "-d", f"client_id={client.client_id}",
        "-d", f"client_secret={secret}",
        "-d", "scope=address",
        "-d", "expires_in=3600",
    )

    assert status == 200, body
    assert_token_response_headers(headers)
    assert body["expires_in"] == 3600
    assert body["scope"] == "address"
    check_access_token(body["access_token"], issuer=issuer.url, audience=issuer.audience,
                       client=client, scope="address", expires_in=3600, issued_after=before)


def test_basic_authentication_with_curl_u(curl: str, issuer: Issuer,
                                          client_pair: tuple[Client, str]) -> None:
    client, secret = client_pair
    status, headers, body = run_curl(
        curl, "-u", f"{client.client_id}:{secret}", issuer.token_url,
        "-d", "grant_type=client_credentials",
    )

    assert status == 200, body
    assert_token_response_headers(headers)
    assert body["scope"] == "address phone"
    check_access_token(body["access_token"], issuer=issuer.url, audience=issuer.audience,
                       client=client, scope="address phone")


@pytest.mark.parametrize(("form", "status", "error"), [
    # The seed's table of error responses.
    ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ({"grant_type": "client_credentials", "scope": "address email"}, 400, "invalid_scope"),
    ({"grant_type": "client_credentials", "client_secret": "wrong"}, 401, "invalid_client"),
])
def test_seed_error_responses(curl: str, issuer: Issuer, client_pair: tuple[Client, str],
                              form: dict[str, str], status: int, error: str) -> None:
    client, secret = client_pair
    fields = {"client_id": client.client_id, "client_secret": secret, **form}
    args = [arg for name, value in fields.items() for arg in ("-d", f"{name}={value}")]

    got_status, headers, body = run_curl(curl, "-X", "POST", issuer.token_url, *args)

    assert (got_status, body["error"]) == (status, error)
    assert body["error_description"]
    assert_no_store(headers)


def test_wrong_secret_with_curl_u_gets_a_basic_challenge(curl: str, issuer: Issuer,
                                                         client_pair: tuple[Client, str]) -> None:
    client, _ = client_pair
    status, headers, body = run_curl(curl, "-u", f"{client.client_id}:wrong", issuer.token_url,
                                     "-d", "grant_type=client_credentials")

    assert status == 401
    assert body["error"] == "invalid_client"
    assert headers["WWW-Authenticate"].startswith('Basic realm="')
    assert_no_store(headers)
