"""Remote mode: keys from a JWK Set served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from django.test import override_settings

from oauth_cc import keys
from oauth_cc import remote_jwks as remote_jwks_module
from oauth_cc.acceptance import verify_access_token
from oauth_cc.exceptions import InvalidToken
from oauth_cc.keyring import key_ring
from oauth_cc.models import SigningKey
from oauth_cc.remote_jwks import remote_jwks
from oauth_cc.testing import bearer, mint_token

pytestmark = pytest.mark.django_db
ISSUER = "https://issuer.test"


class JWKSServer:
    """A JWK Set server whose document, headers and failures the test controls."""

    def __init__(self) -> None:
        self.document: dict | bytes = {"keys": []}  # bytes are served as they are
        self.cache_control = "public, max-age=300"
        self.status = 200
        self.delay = 0.0
        self.hits = 0
        self.raw: bytes | None = None  # written as the whole answer: a broken HTTP response
        self.dripped = b""  # written after `raw`, a byte per `drip_interval`, for `drip_for` s
        self.drip_interval, self.drip_for = 0.05, 8.0
        self.location = ""  # sent as Location: with a 3xx status
        self.fetching = threading.Event()  # set when a fetch has arrived
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits += 1
                server.fetching.set()
                time.sleep(server.delay)
                if server.raw is not None or server.dripped:
                    self.close_connection = True
                    try:
                        self.wfile.write(server.raw or b"")
                        server.drip(self.wfile)
                    except OSError:
                        pass  # the fetcher gave up and closed the connection
                    return
                document = server.document
                body = document if isinstance(document, bytes) else json.dumps(document).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", server.cache_control)
                self.send_header("Content-Length", str(len(body)))
                if server.location:
                    self.send_header("Location", server.location)
                self.end_headers()
                with contextlib.suppress(OSError):  # the fetcher stopped reading: too large
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False  # a slow handler must not hold up the test
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def drip(self, out: Any) -> None:
        """Each byte well within any socket timeout, the whole far beyond the fetch's."""
        stop = time.monotonic() + self.drip_for
        for byte in self.dripped:
            if time.monotonic() > stop:
                return
            time.sleep(self.drip_interval)
            out.write(bytes([byte]))

    def response_bytes(self) -> bytes:
        """The whole HTTP answer the server would give for its document."""
        body = json.dumps(self.document).encode()
        return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Cache-Control: max-age=300\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)) + body

    def publish_issuer_keys(self) -> None:
        self.document = {"keys": [k.jwk() for k in SigningKey.objects.published()]}

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def jwks_server():
    server = JWKSServer()
    yield server
    server.close()


@pytest.fixture
def remote(jwks_server, frozen_clock):
    key_ring.signing_key()
    jwks_server.publish_issuer_keys()
    with override_settings(OAUTH_CC={"ISSUER": ISSUER, "JWKS_URL": jwks_server.url,
                                     "JWKS_FETCH_TIMEOUT": 0.2}):
        yield jwks_server


def test_verifies_with_the_fetched_keys(http, remote, oauth_client):
    client, _ = oauth_client
    token = mint_token(client)
    response = http.get("/api/address", headers=bearer(token))
    assert response.status_code == 200
    assert remote.hits == 1
    http.get("/api/address", headers=bearer(token))
    assert remote.hits == 1  # cached


def test_no_database_query_in_remote_mode(http, remote, oauth_client,
                                          django_assert_num_queries):
    client, _ = oauth_client
    token = mint_token(client)
    assert http.get("/api/address", headers=bearer(token)).status_code == 200
    with django_assert_num_queries(0):
        assert http.get("/api/address", headers=bearer(token)).status_code == 200


def test_remote_mode_cannot_see_disabled_clients(remote, oauth_client):
    """The documented trade-off: no database, no client state, until the token expires."""
    client, _ = oauth_client
    token = mint_token(client)
    client.is_active = False
    client.save()
    assert verify_access_token(token).client_id == client.client_id


def test_cache_lifetime_follows_max_age(remote, oauth_client, frozen_clock):
    client, _ = oauth_client
    token = mint_token(client)
    remote.cache_control = "public, max-age=120"
    verify_access_token(token)
    frozen_clock.advance(119)
    verify_access_token(token)
    assert remote.hits == 1
    frozen_clock.advance(1)
    verify_access_token(token)
    assert remote.hits == 2


@pytest.mark.parametrize("huge", ["99999999", "9" * 5000])  # int() refuses 4,301 digits
def test_cache_lifetime_is_bounded(remote, oauth_client, frozen_clock, huge):
    client, _ = oauth_client
    remote.cache_control = "max-age=0"
    verify_access_token(mint_token(client))
    frozen_clock.advance(29)
    verify_access_token(mint_token(client))
    assert remote.hits == 1  # never more often than JWKS_MIN_REFETCH_SECONDS
    remote.cache_control = f"max-age={huge}"
    frozen_clock.advance(1)
    verify_access_token(mint_token(client))
    frozen_clock.advance(86_399)
    verify_access_token(mint_token(client))
    assert remote.hits == 2
    frozen_clock.advance(1)
    verify_access_token(mint_token(client))
    assert remote.hits == 3  # at most a day


def test_unknown_kid_refetches_at_most_once_per_min_refetch(http, remote, oauth_client,
                                                            frozen_clock):
    client, _ = oauth_client
    verify_access_token(mint_token(client))
    assert remote.hits == 1
    frozen_clock.advance(30)
    for i in range(20):
        forged = jwt.encode({"x": i}, "k" * 32, algorithm="HS256",
                            headers={"typ": "at+jwt", "kid": f"forged-{i}"})
        assert http.get("/api/address", headers=bearer(forged)).status_code == 401
    assert remote.hits == 2


def test_issuer_rotation_is_picked_up_through_the_unknown_kid(remote, oauth_client,
                                                              frozen_clock):
    client, _ = oauth_client
    verify_access_token(mint_token(client))
    SigningKey.objects.rotate()
    SigningKey.objects.rotate()  # the new active key was never published to our cache
    remote.publish_issuer_keys()
    frozen_clock.advance(30)
    token = mint_token(client)
    assert verify_access_token(token).client_id == client.client_id
    assert remote.hits == 2


def test_a_token_arriving_during_the_refetch_for_its_kid_waits_for_it(
        jwks_server, oauth_client, frozen_clock, settings):
    """After a rotation the first token with the new kid starts a refetch; one that arrives
    while it is under way must wait for its answer, not be refused as an unknown key."""
    # Through the settings fixture only: with an override_settings decorator as well, the
    # fixture's teardown (after the decorator's) would put the decorator's value back.
    settings.OAUTH_CC = {"ISSUER": ISSUER, "JWKS_FETCH_TIMEOUT": 5}
    key_ring.signing_key()
    jwks_server.publish_issuer_keys()
    settings.OAUTH_CC = {**settings.OAUTH_CC, "JWKS_URL": jwks_server.url}
    client, _ = oauth_client
    verify_access_token(mint_token(client))
    SigningKey.objects.rotate()
    SigningKey.objects.rotate()
    jwks_server.publish_issuer_keys()
    token = mint_token(client)
    frozen_clock.advance(30)
    jwks_server.delay, jwks_server.hits = 0.5, 0
    jwks_server.fetching.clear()
    outcomes: dict[str, object] = {}

    def verify(name: str) -> None:
        try:
            outcomes[name] = verify_access_token(token).client_id
        except Exception as e:  # the outcome is what the test checks
            outcomes[name] = e

    first = threading.Thread(target=verify, args=("first",))
    first.start()
    assert jwks_server.fetching.wait(5)
    verify("second")  # the first thread's fetch is still sleeping in the server
    first.join(5)

    assert outcomes == {"first": client.client_id, "second": client.client_id}
    assert jwks_server.hits == 1


def test_next_key_is_known_before_it_signs(remote, oauth_client, frozen_clock):
    """A single rotation needs no refetch: the next key was published in advance."""
    client, _ = oauth_client
    verify_access_token(mint_token(client))
    SigningKey.objects.rotate()
    assert verify_access_token(mint_token(client))
    assert remote.hits == 1


@pytest.mark.parametrize("failure", ["status", "garbage", "nested", "bad-status-line",
                                     "truncated", "too-large", "timeout", "down"])
def test_failed_fetch_keeps_the_last_good_set(remote, oauth_client, frozen_clock, failure,
                                              caplog):
    client, _ = oauth_client
    token = mint_token(client)
    verify_access_token(token)
    if failure == "status":
        remote.status = 500
    elif failure == "garbage":
        remote.document = ["not", "a", "jwk set"]
    elif failure == "nested":
        remote.document = b"[" * 50_000  # json.loads raises RecursionError, not ValueError
    elif failure == "bad-status-line":  # http.client raises HTTPException, not OSError
        remote.raw = b"SPDY/9 what\r\n\r\n"
    elif failure == "truncated":
        remote.raw = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n40\r\n{\"keys\": [")
    elif failure == "too-large":  # valid JSON, but past the 1 MiB bound
        remote.document = json.dumps(remote.document).encode() + b" " * 1_048_576
    elif failure == "timeout":
        remote.delay = 0.5
    else:
        remote.close()
    frozen_clock.advance(300)  # the cached set has expired
    with caplog.at_level(logging.WARNING, logger="oauth_cc"):
        assert verify_access_token(token).client_id == client.client_id
    assert "Keeping the 2 key(s)" in caplog.text


def test_nothing_fetched_means_every_token_is_invalid(http, oauth_client, jwks_server):
    jwks_server.close()
    with override_settings(OAUTH_CC={"ISSUER": ISSUER, "JWKS_URL": jwks_server.url,
                                     "JWKS_FETCH_TIMEOUT": 0.2}):
        client, _ = oauth_client
        response = http.get("/api/address", headers=bearer(mint_token(client)))
    assert response.status_code == 401


def test_keys_of_disallowed_algorithms_and_private_keys_are_ignored(remote, oauth_client):
    client, _ = oauth_client
    token = mint_token(client)
    kid = jwt.get_unverified_header(token)["kid"]
    for key in remote.document["keys"]:
        key["alg"] = "HS256"
    remote.document["keys"].append({"kty": "oct", "k": "c2VjcmV0", "kid": kid, "alg": "HS256"})
    with pytest.raises(Exception, match="unknown key"):
        verify_access_token(token)


def test_fetch_timeout_is_short(remote, oauth_client):
    remote.delay = 1.0
    client, _ = oauth_client
    started = time.monotonic()
    with pytest.raises(Exception, match="unknown key"):
        verify_access_token(mint_token(client))
    assert time.monotonic() - started < 0.9


FETCH_TIMEOUT = 0.5
# How long a request may take when the fetch times out: generous, as two cores are shared.
BOUND = FETCH_TIMEOUT + 3.0


@pytest.fixture
def slow_remote(jwks_server, frozen_clock):
    key_ring.signing_key()
    jwks_server.publish_issuer_keys()
    with override_settings(OAUTH_CC={"ISSUER": ISSUER, "JWKS_URL": jwks_server.url,
                                     "JWKS_FETCH_TIMEOUT": FETCH_TIMEOUT}):
        yield jwks_server


def rotate_unseen(server: JWKSServer, client: Any) -> tuple[str, str]:
    """A token whose key is cached, and one signed after a rotation the cache has not seen."""
    old = mint_token(client)
    verify_access_token(old)
    SigningKey.objects.rotate()
    SigningKey.objects.rotate()  # the new active key was never published to our cache
    server.publish_issuer_keys()
    return old, mint_token(client)


class Verifier(threading.Thread):
    """Verifies a token in its own thread: the outcome and how long it took."""

    def __init__(self, token: str) -> None:
        super().__init__(daemon=True)
        self.token = token
        self.outcome: object = None
        self.took = 0.0

    def run(self) -> None:
        started = time.monotonic()
        try:
            self.outcome = verify_access_token(self.token).client_id
        except Exception as e:  # the outcome is what the test checks
            self.outcome = e
        self.took = time.monotonic() - started


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_dripping_server_holds_no_request_past_the_fetch_timeout(slow_remote, oauth_client,
                                                                    frozen_clock, part):
    """A byte at a time, each within the socket timeout: the fetch gives up after
    JWKS_FETCH_TIMEOUT in all, a request waiting for the same unknown kid with it, and the
    last good keys stay."""
    client, _ = oauth_client
    old, new = rotate_unseen(slow_remote, client)
    answer = slow_remote.response_bytes()
    split = 0 if part == "headers" else answer.index(b"\r\n\r\n") + 4
    slow_remote.raw, slow_remote.dripped = answer[:split], answer[split:]
    slow_remote.fetching.clear()
    frozen_clock.advance(30)

    fetcher, waiter = Verifier(new), Verifier(new)
    fetcher.start()
    assert slow_remote.fetching.wait(5)
    waiter.run()  # here, while the fetch is under way
    fetcher.join(10)

    assert fetcher.took < BOUND
    assert waiter.took < BOUND
    assert isinstance(fetcher.outcome, InvalidToken)
    assert isinstance(waiter.outcome, InvalidToken)
    assert verify_access_token(old).client_id == client.client_id
    assert slow_remote.hits == 2  # the first fetch, and the one for the new kid


def test_a_request_waits_for_anothers_fetch_no_longer_than_the_fetch_timeout(
        slow_remote, oauth_client, frozen_clock, monkeypatch):
    """Even a fetch that overran its bound holds the others no longer than
    JWKS_FETCH_TIMEOUT: they go on with the keys they have."""
    client, _ = oauth_client
    old, new = rotate_unseen(slow_remote, client)
    release = threading.Event()
    fetch = remote_jwks_module.fetch_jwks

    def overrunning_fetch(*args: Any, **kwargs: Any) -> Any:
        slow_remote.fetching.set()
        release.wait(8)
        return fetch(*args, **kwargs)

    monkeypatch.setattr(remote_jwks_module, "fetch_jwks", overrunning_fetch)
    slow_remote.fetching.clear()
    frozen_clock.advance(30)
    fetcher, waiter = Verifier(new), Verifier(new)
    fetcher.start()
    assert slow_remote.fetching.wait(5)
    waiter.run()
    assert waiter.took < BOUND
    assert isinstance(waiter.outcome, InvalidToken)
    assert verify_access_token(old).client_id == client.client_id  # a known kid never waits
    release.set()
    fetcher.join(10)
    assert fetcher.outcome == client.client_id  # the fetch itself went on and succeeded


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_not_followed(remote, oauth_client, frozen_clock, caplog, status):
    """A redirect could point anywhere: here to another origin serving its own key."""
    client, _ = oauth_client
    token = mint_token(client)
    verify_access_token(token)
    private_key = keys.generate_private_key("RS256")
    foreign_jwk = {**keys.public_jwk(private_key.public_key()), "kid": "foreign",
                   "alg": "RS256", "use": "sig"}
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(claims, private_key, algorithm="RS256",
                        headers={"typ": "at+jwt", "kid": "foreign"})
    elsewhere = JWKSServer()
    try:
        elsewhere.document = {"keys": [foreign_jwk]}
        remote.status, remote.location = status, elsewhere.url
        frozen_clock.advance(300)  # the cached set has expired
        with caplog.at_level(logging.WARNING, logger="oauth_cc"):
            assert verify_access_token(token).client_id == client.client_id
            frozen_clock.advance(30)
            with pytest.raises(InvalidToken, match="unknown key"):
                verify_access_token(forged)
        assert elsewhere.hits == 0
        assert remote.hits == 3
        assert f"HTTP {status}" in caplog.text
        assert "redirects are not followed" in caplog.text
        assert "Keeping the 2 key(s)" in caplog.text
    finally:
        elsewhere.close()


def _no_keys(document: dict) -> dict:
    return {"keys": []}


def _only_hmac(document: dict) -> dict:
    return {"keys": [{**key, "alg": "HS256"} for key in document["keys"]]}


def _only_private(document: dict) -> dict:
    return {"keys": [{**key, "d": "c2VjcmV0"} for key in document["keys"]]}


def _only_encryption(document: dict) -> dict:
    return {"keys": [{**key, "use": "enc"} for key in document["keys"]]}


@pytest.mark.parametrize("empty", [_no_keys, _only_hmac, _only_private, _only_encryption])
def test_an_empty_key_set_never_replaces_good_keys(remote, oauth_client, frozen_clock, caplog,
                                                   empty):
    client, _ = oauth_client
    token = mint_token(client)
    verify_access_token(token)
    good = remote.document
    remote.document = empty(good)
    frozen_clock.advance(300)  # the cached set has expired
    with caplog.at_level(logging.WARNING, logger="oauth_cc"):
        assert verify_access_token(token).client_id == client.client_id
    assert "no usable key" in caplog.text
    assert "Keeping the 2 key(s)" in caplog.text
    frozen_clock.advance(29)
    verify_access_token(token)
    assert remote.hits == 2  # an empty answer counts as a failed fetch: retried after 30 s
    remote.document = good
    frozen_clock.advance(1)
    assert verify_access_token(token).client_id == client.client_id
    assert remote.hits == 3


def test_a_first_fetch_that_is_empty_simply_has_no_keys(remote, oauth_client, frozen_clock):
    client, _ = oauth_client
    token = mint_token(client)
    good, remote.document = remote.document, {"keys": []}
    with pytest.raises(InvalidToken, match="unknown key"):
        verify_access_token(token)
    remote.document = good
    frozen_clock.advance(30)
    assert verify_access_token(token).client_id == client.client_id


def test_remote_jwks_against_the_issuers_own_endpoint(live_server, oauth_client):
    """The whole path: the issuer's real /.well-known/jwks.json over HTTP, and a rotation."""
    client, _ = oauth_client
    with override_settings(OAUTH_CC={"ISSUER": ISSUER,
                                     "JWKS_URL": live_server.url + "/.well-known/jwks.json"}):
        remote_jwks.clear()
        assert verify_access_token(mint_token(client)).client_id == client.client_id
        SigningKey.objects.rotate()
        assert verify_access_token(mint_token(client)).client_id == client.client_id


@override_settings(OAUTH_CC={"ISSUER": ISSUER, "ALLOWED_ALGORITHMS": ["RS256", "ES256", "EdDSA"]})
def test_a_published_key_that_does_not_fit_its_alg_is_skipped(caplog):
    """The key decides the algorithm: an ES256 key must be P-256, an EdDSA key Ed25519."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519

    from oauth_cc.jwks_fetch import PublicJWK
    from oauth_cc.remote_jwks import usable_keys

    def public(private: Any) -> Any:
        return private.public_key()

    found = usable_keys([
        PublicJWK("p384", "ES256", public(ec.generate_private_key(ec.SECP384R1()))),
        PublicJWK("ed448", "EdDSA", public(ed448.Ed448PrivateKey.generate())),
        PublicJWK("rsa-as-es", "ES256", public(keys.generate_private_key("RS256"))),
        PublicJWK("p256", "ES256", public(ec.generate_private_key(ec.SECP256R1()))),
        PublicJWK("ed25519", "EdDSA", public(ed25519.Ed25519PrivateKey.generate())),
    ])
    assert sorted(found) == ["ed25519", "p256"]
    assert {"p384", "ed448", "rsa-as-es"} <= {
        r.args[0] for r in caplog.records if r.getMessage().startswith("Skipping key")}
