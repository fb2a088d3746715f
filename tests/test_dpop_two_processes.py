"""A DPoP proof is accepted once across worker processes (RFC 9449 §11.1): the replay check is
one atomic ``add`` in the shared cache (Redis when ``REDIS_URL`` is set, else a cache
directory), at the token endpoint and at the API alike.

Two real server processes share one SQLite file and that cache, as ``test_two_processes``
sets them up. Both are asked for the same host (``Host: api.test``, as a load balancer would
forward it), so that one proof's ``htu`` fits either; the servers' clocks are real, so each
proof is made just before it is sent, well inside its 60-second window.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.test_dpop import ath, public_jwk, thumbprint
from tests.test_two_processes import (  # noqa: F401 - shared_cache is a fixture
    django_shell,
    serving,
    shared_cache,
)

HOST = "api.test"
TOKEN_URL = f"http://{HOST}/oauth/token"
API_URL = f"http://{HOST}/api/address"


def send(url: str, *, data: dict[str, str] | None = None, **headers: str
         ) -> tuple[int, dict[str, Any]]:
    """One request to a worker, as if for ``HOST``; the status and the JSON body."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={"Host": HOST, **headers},
                                     method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture
def workers(shared_cache: dict[str, str]) -> Any:  # noqa: F811 - the imported fixture
    """The base URLs of two server processes sharing the database and the cache."""
    with serving(shared_cache) as bases:
        yield bases


def test_a_dpop_proof_is_accepted_once_across_workers(shared_cache, workers):  # noqa: F811
    env = shared_cache
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = public_jwk(key)

    def proof(htm: str, htu: str, token: str | None = None) -> str:
        claims = {"jti": uuid.uuid4().hex, "htm": htm, "htu": htu, "iat": int(time.time())}
        if token is not None:
            claims["ath"] = ath(token)
        return jwt.encode(claims, key, algorithm="ES256",
                          headers={"typ": "dpop+jwt", "jwk": jwk})

    client_id, secret = django_shell(env, (
        "from oauth_cc.models import Client, Scope; Scope.objects.create(name='address'); "
        "c, s = Client.objects.create_client('svc', scopes=['address']); "
        "print(c.client_id, s)")).split()
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    first, second = workers

    # The token endpoint: the second worker refuses the proof the first accepted.
    used = proof("POST", TOKEN_URL)
    status, body = send(first + "/oauth/token", data=form, DPoP=used)
    assert status == 200, body
    assert body["token_type"] == "DPoP"
    token = str(body["access_token"])
    assert jwt.decode(token, options={"verify_signature": False})["cnf"] == {
        "jkt": thumbprint(jwk)}
    status, body = send(second + "/oauth/token", data=form, DPoP=used)
    assert status == 400, body
    assert body["error"] == "invalid_dpop_proof"
    assert "used before" in str(body["error_description"])

    # The API: the same, with the bound token.
    authorization = f"DPoP {token}"
    used = proof("GET", API_URL, token)
    status, body = send(first + "/api/address", Authorization=authorization, DPoP=used)
    assert status == 200, body
    status, body = send(second + "/api/address", Authorization=authorization, DPoP=used)
    assert status == 401, body
    assert body["error"] == "invalid_token"
    assert "used before" in str(body["error_description"])
    # A fresh proof works at either; the token alone, as a bearer token, at neither.
    for base in workers:
        status, body = send(base + "/api/address", Authorization=authorization,
                            DPoP=proof("GET", API_URL, token))
        assert status == 200, body
        assert send(base + "/api/address", Authorization=f"Bearer {token}")[0] == 401
