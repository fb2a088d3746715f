"""Plain ``curl``, exactly as the seed document shows it (CONTRACT.md §8).

The commands are the seed's, with only ``-sS`` (quiet) and ``-D -`` (print the response
headers) added so the test can read the answer. The README's "Secretless clients" example
(§11) is run as it is written: its scripts, its command and its curl call.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import time
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from oauth_cc.models import Client, Scope
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


README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLE_TOKEN_URL = "https://api.example.com/oauth/token"


def readme_blocks(heading: str) -> dict[str, str]:
    """The fenced code blocks of the README section ``heading``, by their first line."""
    section = README.read_text().split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return {code.splitlines()[0]: code
            for _, code in re.findall(r"```(\w+)\n(.*?)```", section, re.S)}


def test_the_readme_secretless_example_runs_as_written(
        curl: str, issuer: Issuer, scopes: dict[str, Scope], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """make_key.py, create_oauth_client --jwks, then a token with curl + make_assertion.py
    and with TokenClient: only the URL and the client id are the test's."""
    blocks = readme_blocks("Secretless clients: private_key_jwt")
    for name in ("make_key.py", "make_assertion.py"):
        (tmp_path / name).write_text(next(code for first, code in blocks.items()
                                          if first.startswith(f"# {name}")))
    made = subprocess.run([sys.executable, "make_key.py"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "client-key.pem").stat().st_mode & 0o077 == 0
    out = io.StringIO()
    call_command("create_oauth_client", "Acme server", "--scopes", "address", "--jwks",
                 str(tmp_path / "client-jwks.json"), "--json", stdout=out)
    client_id = json.loads(out.getvalue())["client_id"]
    command = next(code for first, code in blocks.items() if first.startswith("curl -X POST"))
    command = (command.replace(EXAMPLE_TOKEN_URL, issuer.token_url)
               .replace("YOUR_CLIENT_ID", client_id)
               .replace("$(python ", f"$({sys.executable} ")
               .replace("curl ", f"{curl} -sS ", 1))

    done = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False)

    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["token_type"] == "Bearer" and body["scope"] == "address", body
    client = Client.objects.get(client_id=client_id)
    check_access_token(body["access_token"], issuer=issuer.url, audience=issuer.audience,
                       client=client, scope="address")

    token_client = next(code for code in blocks.values() if "TokenClient(" in code)
    monkeypatch.chdir(tmp_path)
    names: dict[str, Any] = {"CLIENT_ID": client_id}
    exec(token_client.replace(EXAMPLE_TOKEN_URL, issuer.token_url), names)  # noqa: S102
    token = names["headers"]["Authorization"].removeprefix("Bearer ")
    check_access_token(token, issuer=issuer.url, audience=issuer.audience, client=client,
                       scope="address")
