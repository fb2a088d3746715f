"""Node clients: jose verifies our tokens, openid-client v6 discovers us and gets tokens, with
a secret and as a secretless ``private_key_jwt`` client (``PrivateKeyJwt``, CONTRACT.md §11).

The packages are pinned in ``node/package.json`` and ``node/package-lock.json`` and installed
with ``npm ci`` into ``node/node_modules`` (once, when missing or older than the lock file).
Without node/npm, or without a reachable npm registry, these tests skip; with
``OAUTH_CC_REQUIRE_INTEROP=1`` they fail instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from django.test import override_settings

from oauth_cc.models import Client
from tests.interop.claims import check_access_token, check_claims, check_header
from tests.interop.conftest import KeyedClient
from tests.interop.support import Issuer, unavailable

pytestmark = pytest.mark.interop

NODE_DIR = Path(__file__).parent / "node"
MIN_NODE_MAJOR = 20


def node_modules_current() -> bool:
    """``npm ci`` already ran against the current lock file."""
    installed = NODE_DIR / "node_modules" / ".package-lock.json"
    lock = NODE_DIR / "package-lock.json"
    return installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime


@pytest.fixture(scope="session")
def node() -> str:
    """The ``node`` executable, with the pinned packages installed next to the scripts."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable("node and npm are needed for the Node interop tests")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30,
                             check=False).stdout.strip()
    major = re.match(r"v(\d+)\.", version)
    if major is None or int(major.group(1)) < MIN_NODE_MAJOR:
        unavailable(f"Node.js {MIN_NODE_MAJOR}+ is needed, found {version or 'nothing'}")
    if not node_modules_current():
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=NODE_DIR,
            capture_output=True, text=True, timeout=300, check=False)
        if result.returncode != 0:
            head = "\n".join((result.stderr or result.stdout).strip().splitlines()[:4])
            unavailable(f"npm ci failed in {NODE_DIR} (no npm registry?):\n{head}")
    return node


def run_node(node: str, script: str, *args: str, env: dict[str, str] | None = None
             ) -> dict[str, Any]:
    """Run one of the scripts in ``node/``; return the JSON object it printed."""
    result = subprocess.run([node, script, *args], cwd=NODE_DIR, capture_output=True,
                            text=True, timeout=60, check=False,
                            env={**os.environ, **(env or {})})
    try:
        output: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"{script} printed no JSON (exit {result.returncode}):\n"
                    f"{result.stdout}\n{result.stderr}")
    assert output["ok"] == (result.returncode == 0), (output, result.stderr)
    return output


def jose_verify(node: str, issuer: Issuer, token: str, *, audience: str | None = None,
                expected_issuer: str | None = None) -> dict[str, Any]:
    return run_node(node, "verify_jose.mjs", issuer.jwks_url, expected_issuer or issuer.url,
                    audience or issuer.audience, token)


def openid_client_grant(node: str, issuer: Issuer, client_id: str, secret: str, method: str,
                        scope: str | None = None) -> dict[str, Any]:
    args = [issuer.url, client_id, method] + ([scope] if scope else [])
    return run_node(node, "openid_client_grant.mjs", *args, env={"CLIENT_SECRET": secret})


def post_token(issuer: Issuer, client_id: str, secret: str, **form: str) -> str:
    response = requests.post(issuer.token_url, auth=(client_id, secret),
                             data={"grant_type": "client_credentials", **form}, timeout=10)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def test_jose_verifies_an_issued_token(node: str, issuer: Issuer,
                                       client_pair: tuple[Client, str]) -> None:
    client, secret = client_pair
    before = time.time()
    token = post_token(issuer, client.client_id, secret, scope="address")

    result = jose_verify(node, issuer, token)

    assert result["ok"], result
    check_header(result["protectedHeader"])
    check_claims(result["payload"], issuer=issuer.url, audience=issuer.audience, client=client,
                 scope="address", issued_after=before)


@pytest.mark.parametrize(("change", "code"), [
    ("audience", "ERR_JWT_CLAIM_VALIDATION_FAILED"),
    ("issuer", "ERR_JWT_CLAIM_VALIDATION_FAILED"),
    ("payload", "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"),
])
def test_jose_rejects_what_it_should(node: str, issuer: Issuer,
                                     client_pair: tuple[Client, str], change: str,
                                     code: str) -> None:
    """The verification above is real: jose refuses a wrong audience, issuer or payload."""
    client, secret = client_pair
    token = post_token(issuer, client.client_id, secret, scope="address")
    audience, expected_issuer = issuer.audience, issuer.url
    if change == "audience":
        audience = "https://someone-else.test"
    elif change == "issuer":
        expected_issuer = issuer.url + "/"
    else:
        other = post_token(issuer, client.client_id, secret, scope="phone")
        header, _, signature = token.split(".")
        token = ".".join([header, other.split(".")[1], signature])

    result = jose_verify(node, issuer, token, audience=audience, expected_issuer=expected_issuer)

    assert not result["ok"]
    assert result["code"] == code, result


@pytest.mark.parametrize("method", ["basic", "post"])
@pytest.mark.parametrize(("scope", "granted"), [
    (None, "address phone"),
    ("phone", "phone"),
])
def test_openid_client_discovery_and_client_credentials_grant(
    node: str, issuer: Issuer, client_pair: tuple[Client, str], method: str,
    scope: str | None, granted: str,
) -> None:
    """openid-client v6 discovers the RFC 8414 metadata (its ``issuer`` must equal the URL it
    was given), authenticates by ``ClientSecretBasic``/``ClientSecretPost``, and gets a token
    that jose then verifies."""
    client, secret = client_pair
    before = time.time()

    result = openid_client_grant(node, issuer, client.client_id, secret, method, scope)

    assert result["ok"], result
    metadata = result["metadata"]
    assert metadata["issuer"] == issuer.url
    assert metadata["token_endpoint"] == issuer.token_url
    assert metadata["jwks_uri"] == issuer.jwks_url
    assert f"client_secret_{method}" in metadata["token_endpoint_auth_methods_supported"]
    token = result["token"]
    assert token["token_type"].lower() == "bearer"  # oauth4webapi lower-cases it
    assert token["expires_in"] == 900
    assert token["scope"] == granted
    check_access_token(token["access_token"], issuer=issuer.url, audience=issuer.audience,
                       client=client, scope=granted, issued_after=before)
    assert jose_verify(node, issuer, token["access_token"])["ok"]


def test_openid_client_discovers_an_issuer_with_a_path(
    node: str, live_server: Any, client_pair: tuple[Client, str],
) -> None:
    """RFC 8414 §3.1: for ``https://host/tenant-a`` clients fetch
    ``/.well-known/oauth-authorization-server/tenant-a``; openid-client does exactly that."""
    client, secret = client_pair
    with override_settings(OAUTH_CC={"ISSUER": live_server.url + "/tenant-a"}):
        issuer = Issuer(live_server.url + "/tenant-a")
        result = openid_client_grant(node, issuer, client.client_id, secret, "basic")

    assert result["ok"], result
    assert result["metadata"]["issuer"] == issuer.url
    assert result["metadata"]["token_endpoint"] == live_server.url + "/oauth/token"
    check_access_token(result["token"]["access_token"], issuer=issuer.url,
                       audience=issuer.url, client=client, scope="address phone",
                       issued_after=0)


@pytest.mark.parametrize("method", ["basic", "post"])
def test_openid_client_reports_invalid_client(node: str, issuer: Issuer,
                                              client_pair: tuple[Client, str],
                                              method: str) -> None:
    client, _ = client_pair

    result = openid_client_grant(node, issuer, client.client_id, "wrong-secret", method)

    assert not result["ok"]
    assert (result["status"], result["error"]) == (401, "invalid_client"), result
    assert result["error_description"]
    if method == "basic":  # RFC 6749 §5.2: a failed Basic login carries the Basic challenge
        assert result["name"] == "WWWAuthenticateChallengeError"
        assert [c["scheme"] for c in result["challenges"]] == ["basic"]
        assert result["challenges"][0]["parameters"]["realm"]
    else:
        assert result["name"] == "ResponseBodyError"


def openid_client_private_key_jwt(node: str, issuer: Issuer, keyed: KeyedClient, alg: str,
                                  scope: str | None = None) -> dict[str, Any]:
    args = [issuer.url, keyed.client.client_id, alg, keyed.kid, issuer.url + "/api/address"]
    return run_node(node, "openid_client_private_key_jwt.mjs", *args, *([scope] if scope else []),
                    env={"PRIVATE_KEY": keyed.pem})


@pytest.mark.parametrize(("kind", "alg", "signed_as"), [
    ("rsa", "RS256", "RS256"), ("rsa", "PS256", "PS256"), ("ec", "ES256", "ES256"),
    ("ed25519", "EdDSA", "Ed25519"),  # oauth4webapi names it as RFC 9864 does
])
def test_openid_client_private_key_jwt_gets_a_token_that_works_on_the_api(
    node: str, issuer: Issuer, make_keyed_client: Callable[..., KeyedClient], kind: str,
    alg: str, signed_as: str,
) -> None:
    """openid-client v6 discovers ``private_key_jwt`` in the metadata, signs its assertion
    (``aud`` = our issuer identifier, as oauth4webapi does) with the key jose imported, gets
    a token by the client credentials grant, and the API accepts it."""
    keyed = make_keyed_client(kind)
    before = time.time()

    result = openid_client_private_key_jwt(node, issuer, keyed, alg, scope="address")

    assert result["ok"], result
    metadata = result["metadata"]
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    assert signed_as in metadata["token_endpoint_auth_signing_alg_values_supported"]
    assertion = result["assertion"]
    assert assertion["header"] == {"alg": signed_as, "kid": keyed.kid}
    assert assertion["payload"]["iss"] == assertion["payload"]["sub"] == keyed.client.client_id
    assert assertion["payload"]["aud"] == issuer.url
    token = result["token"]
    assert token["token_type"].lower() == "bearer"
    assert token["scope"] == "address"
    check_access_token(token["access_token"], issuer=issuer.url, audience=issuer.audience,
                       client=keyed.client, scope="address", issued_after=before)
    assert result["api"]["status"] == 200, result["api"]
    assert result["api"]["body"]["client_id"] == keyed.client.client_id


def test_openid_client_private_key_jwt_with_another_key_is_invalid_client(
    node: str, issuer: Issuer, make_keyed_client: Callable[..., KeyedClient],
) -> None:
    keyed, other = make_keyed_client("ec"), make_keyed_client("ec")

    result = openid_client_private_key_jwt(
        node, issuer, KeyedClient(keyed.client, other.key, keyed.kid), "ES256")

    assert not result["ok"]
    assert (result["status"], result["error"]) == (401, "invalid_client"), result
