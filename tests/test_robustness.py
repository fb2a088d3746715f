"""Whatever bytes arrive, every endpoint answers with a 4xx or 2xx it means, never a 500.

Requests are built by a seeded generator from real pieces (our client id and secret, a real
token) and hostile ones (NUL, invalid UTF-8, percent-escapes, very long or deeply nested
values), so the same run happens every time. On PostgreSQL (``DATABASE_URL``) this also
proves that nothing an attacker sends reaches a query the database refuses.
"""

from __future__ import annotations

import base64
import random
import re
from urllib.parse import quote_plus

import pytest
from django.test import override_settings

from oauth_cc.testing import mint_token
from tests.helpers import post_form

pytestmark = pytest.mark.django_db

ISSUER = "https://issuer.test"
ENDPOINTS = ["/oauth/token", "/oauth/introspect", "/oauth/revoke"]
CONTENT_TYPES = ["application/x-www-form-urlencoded", "application/x-www-form-urlencoded; "
                 "charset=latin-1", "application/x-www-form-urlencoded; charset=bogus",
                 "application/json", "multipart/form-data; boundary=x", "text/plain", ""]
# RFC 6749 §5.2, RFC 6750 §3: what an error_description may hold, even when it quotes the input.
DESCRIPTION_TEXT = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]+")
PARAMETERS = ["grant_type", "scope", "expires_in", "client_id", "client_secret", "token",
              "token_type_hint", "x"]


class Hostile:
    """Values and requests from a seeded generator."""

    def __init__(self, seed: int, client_id: str, secret: str, token: str) -> None:
        self.rng = random.Random(seed)
        self.client_id, self.secret, self.token = client_id, secret, token
        self.pieces = [client_id, secret, token, "client_credentials", "address phone", "900",
                       "access_token"]

    def text(self) -> str:
        rng = self.rng
        choice = rng.randrange(10)
        if choice < 3:
            return rng.choice(self.pieces)
        if choice == 3:
            return rng.choice(self.pieces) + rng.choice(["\x00", "%00", "%", "%zz", "\u2028"])
        if choice == 4:
            return rng.choice(["9", "[", '{"a":', "a", "\u00e9"]) * rng.choice([100, 5000])
        if choice == 5:
            return "".join(chr(rng.randrange(0, 0x3000)) for _ in range(rng.randrange(1, 40)))
        if choice == 6:
            segment = base64.urlsafe_b64encode(rng.choice([b"[" * 5000, b"null", b"{}", b"\xff"]))
            return f"{segment.decode().rstrip('=')}.e30.e30"
        if choice == 7:
            return ""
        return "".join(rng.choice("abcXYZ019-._~+/= ") for _ in range(rng.randrange(1, 80)))

    def body(self) -> bytes:
        rng = self.rng
        if rng.randrange(8) == 0:
            return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
        pairs = [(rng.choice(PARAMETERS), self.text()) for _ in range(rng.randrange(0, 6))]
        if rng.randrange(3) == 0:  # a valid request, but for the hostile values in it
            pairs = [("grant_type", "client_credentials"), ("token", self.token),
                     ("client_id", self.text()), ("client_secret", self.secret)]
            pairs = rng.sample(pairs, rng.randrange(2, 5))
        text = "&".join(
            f"{name}={value if rng.randrange(2) else quote_plus(value, errors='surrogatepass')}"
            for name, value in pairs)
        return text.encode("utf-8", "surrogatepass")

    def authorization(self) -> dict[str, str]:
        rng = self.rng
        choice = rng.randrange(6)
        if choice == 0:
            return {}
        if choice == 5:
            raw = f"{self.client_id}:{self.secret}".encode()
            return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(raw).decode()}
        if choice == 1:
            raw = f"{self.text()}:{self.text()}".encode("utf-8", "surrogatepass")
            return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(raw).decode()}
        if choice == 2:
            return {"HTTP_AUTHORIZATION": f"Bearer {self.text()}"}
        if choice == 3:
            return {"HTTP_AUTHORIZATION": f"{rng.choice(['Basic', 'basic', 'Digest'])} "
                                          f"{self.text()}"}
        return {"HTTP_AUTHORIZATION": self.text()}


def latin1(headers: dict[str, str]) -> dict[str, str]:
    """WSGI carries header values as latin-1 text: what cannot be sent that way is not."""
    return {name: value for name, value in headers.items()
            if all(ord(c) < 256 for c in value)}


@override_settings(OAUTH_CC={"ISSUER": ISSUER, "AUTH_FAILURES_PER_CLIENT": 10_000,
                             "AUTH_FAILURES_PER_ADDRESS": 10_000})
def test_oauth_endpoints_never_answer_5xx(http, oauth_client):
    client, secret = oauth_client
    hostile = Hostile(2026, client.client_id, secret, mint_token(client))
    statuses: set[int] = set()
    for _ in range(600):
        path = hostile.rng.choice(ENDPOINTS)
        query = hostile.rng.choice(["", "?client_id=x", "?a=%00", "?" + hostile.text()[:200]])
        response = post_form(http, path + query, hostile.body(),
                             content_type=hostile.rng.choice(CONTENT_TYPES[:1] * 6
                                                             + CONTENT_TYPES),
                             **latin1(hostile.authorization()))
        statuses.add(response.status_code)
        assert response.status_code < 500, (path, response.content[:300])
        if response.status_code >= 400:
            body = response.json()
            assert body["error"] and DESCRIPTION_TEXT.fullmatch(body["error_description"]), body
    # The generator reached success and each kind of refusal, not only one of them.
    assert {200, 400, 401} <= statuses


def test_protected_api_never_answers_5xx(http, oauth_client):
    client, secret = oauth_client
    hostile = Hostile(1024, client.client_id, secret, mint_token(client))
    statuses: set[int] = set()
    for _ in range(400):
        headers = latin1(hostile.authorization())
        response = http.get("/api/address", **headers)
        statuses.add(response.status_code)
        assert response.status_code in (200, 401, 403), (headers, response.content[:300])
        challenge = response.get("WWW-Authenticate", "")
        description = re.search(r'error_description="([^"]*)"', challenge)
        assert description is None or DESCRIPTION_TEXT.fullmatch(description.group(1))
        assert challenge.count('"') % 2 == 0, challenge
    assert {200, 401} <= statuses
