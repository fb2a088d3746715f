"""openid-client v6 with DPoP (RFC 9449, CONTRACT.md §12): a DPoP handle gets a bound token
from the live server and calls the API with it; the same token without a proof is refused.

Node and the pinned packages come from ``test_node`` (``npm ci`` into ``node/node_modules``);
without them these tests skip, or fail with ``OAUTH_CC_REQUIRE_INTEROP=1``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from oauth_cc.models import Client
from tests.interop.claims import check_access_token
from tests.interop.support import Issuer
from tests.interop.test_node import node, run_node  # noqa: F401 - node is a fixture

pytestmark = pytest.mark.interop

DPOP_ALGORITHMS = ["ES256", "RS256", "PS256", "EdDSA"]


def openid_client_dpop(node: str, issuer: Issuer, client: Client, secret: str,  # noqa: F811
                       alg: str, scope: str | None = None) -> dict[str, Any]:
    args = [issuer.url, client.client_id, issuer.url + "/api/address", alg]
    return run_node(node, "openid_client_dpop.mjs", *args, *([scope] if scope else []),
                    env={"CLIENT_SECRET": secret})


# oauth4webapi names an Ed25519 key's algorithm as RFC 9864 does, "Ed25519"; we accept it
# wherever EdDSA is accepted.
@pytest.mark.parametrize("alg", ["ES256", "RS256", "PS256", "Ed25519"])
def test_openid_client_gets_a_dpop_bound_token_that_works_only_with_its_proof(
    node: str, issuer: Issuer, client_pair: tuple[Client, str], alg: str,  # noqa: F811
) -> None:
    client, secret = client_pair
    before = time.time()

    result = openid_client_dpop(node, issuer, client, secret, alg, scope="address")

    assert result["ok"], result
    assert result["metadata"]["dpop_signing_alg_values_supported"] == DPOP_ALGORITHMS
    token = result["token"]
    assert token["token_type"].lower() == "dpop"  # oauth4webapi lower-cases it
    assert token["scope"] == "address"
    claims = check_access_token(token["access_token"], issuer=issuer.url,
                                audience=issuer.audience, client=client, scope="address",
                                issued_after=before)
    assert claims["cnf"] == {"jkt": result["jkt"]}  # the key openid-client holds
    # With the DPoP handle: Authorization: DPoP and a proof for GET /api/address.
    assert result["api"]["status"] == 200, result["api"]
    assert result["api"]["body"]["client_id"] == client.client_id
    # Stolen and sent as a bearer token: refused, with the DPoP challenge (RFC 9449 §7.1).
    bearer = result["bearer"]
    assert (bearer["name"], bearer["status"]) == ("WWWAuthenticateChallengeError", 401), bearer
    (challenge,) = bearer["challenges"]
    assert challenge["scheme"] == "dpop"
    assert challenge["parameters"]["error"] == "invalid_token"
    assert challenge["parameters"]["algs"] == " ".join(DPOP_ALGORITHMS)


def test_openid_client_without_dpop_is_refused_by_a_client_that_requires_it(
    node: str, issuer: Issuer, make_client: Any,  # noqa: F811
) -> None:
    """``require_dpop``: the token endpoint answers ``invalid_dpop_proof`` (RFC 9449 §5)."""
    client, secret = make_client(("address",), require_dpop=True)

    result = run_node(node, "openid_client_grant.mjs", issuer.url, client.client_id, "basic",
                      env={"CLIENT_SECRET": secret})

    assert not result["ok"]
    assert (result["status"], result["error"]) == (400, "invalid_dpop_proof"), result
    assert "must send a DPoP proof" in result["error_description"]

    with_dpop = openid_client_dpop(node, issuer, client, secret, "ES256")
    assert with_dpop["ok"], with_dpop
    assert with_dpop["api"]["status"] == 200
