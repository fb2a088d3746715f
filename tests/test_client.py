"""oauth_cc.client against a scripted local HTTP server: the wire format, caching, refresh,
concurrency, every kind of failure, and the requests/httpx adapters' one retry.

The real token endpoint and protected APIs are exercised in ``test_client_live.py``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import http.client
import ipaddress
import itertools
import json
import logging
import math
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus, unquote_plus

import httpx
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from oauth_cc import clock
from oauth_cc.client import TokenClient, TokenError, token_rejected
from oauth_cc.client import httpx as httpx_adapter
from oauth_cc.client import requests as requests_adapter

T0 = 1_767_225_600.0
SECRET = "s3cr3t-VALUE_with~unreserved"
JSON = {"Content-Type": "application/json"}
INVALID_TOKEN_CHALLENGE = {
    **JSON, "WWW-Authenticate": 'Bearer realm="api", error="invalid_token", '
                                'error_description="The token has been revoked."'}
SEED_1024 = {"completions": [], "message": "Invalid or expired bearer token",
             "error_code": "1024", "success": False}

Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())


def reply(status: int, document: Any, headers: dict[str, str] | None = None) -> Reply:
    return status, {**JSON, **(headers or {})}, json.dumps(document).encode()


@dataclass
class Stub:
    """A scripted server: ``routes`` maps a path to a function of the request."""

    url: str = ""
    routes: dict[str, Callable[[Recorded], Reply]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    issued: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def at(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    def token_reply(self, expires_in: int = 900) -> Reply:
        return reply(200, {"access_token": f"token-{next(self.issued)}", "token_type": "Bearer",
                           "expires_in": expires_in, "scope": "address"})


@pytest.fixture
def stub() -> Iterator[Stub]:
    scripted = Stub()
    scripted.routes["/token"] = lambda request: scripted.token_reply()

    class Handler(BaseHTTPRequestHandler):
        def handle_any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            recorded = Recorded(self.command, self.path.split("?")[0], dict(self.headers),
                                self.rfile.read(length))
            scripted.requests.append(recorded)
            status, headers, body = scripted.routes[recorded.path](recorded)
            self.send_response(status)
            for name, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = handle_any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that timed out has gone: nothing to report

    server = Server(("127.0.0.1", 0), Handler)
    scripted.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield scripted
    scripted.release.set()
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def fake_clock() -> clock.FrozenClock:
    return clock.FrozenClock(T0)


def token_client(stub: Stub, fake_clock: Callable[[], float] = time.time,
                 **kwargs: Any) -> TokenClient:
    return TokenClient(stub.url + "/token", "client-1", SECRET, clock=fake_clock, **kwargs)


# --- importing -------------------------------------------------------------------------------

def test_imports_without_django_or_the_http_libraries() -> None:
    code = (
        "import sys, oauth_cc.client\n"
        "assert not {'django', 'requests', 'httpx'} & set(sys.modules), sys.modules.keys()\n"
        "import oauth_cc.client.requests, oauth_cc.client.httpx\n"
        "assert 'django' not in sys.modules\n"
    )
    env = {name: value for name, value in os.environ.items()
           if name != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr


# --- arguments and the request on the wire -----------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    {"auth_method": "private_key_jwt"}, {"auth_method": "none"},
    {"token_url": "file:///etc/passwd"}, {"client_secret": ""}, {"expires_in": 0},
    {"expires_in": True}, {"refresh_margin": -1}, {"timeout": 0},
    # Numbers that would make it misbehave later: never refresh, or fail inside get_token().
    {"expires_in": 2.5}, {"expires_in": "900"}, {"refresh_margin": math.nan},
    {"refresh_margin": math.inf}, {"timeout": math.nan}, {"timeout": math.inf},
    {"timeout": 1e10}, {"timeout": "10"},
    # Credentials that cannot be sent (a lone surrogate cannot even be encoded).
    {"client_id": 123}, {"client_secret": b"bytes"}, {"client_secret": "line\nbreak"},
    {"client_secret": "\ud800"},
])
def test_bad_arguments_are_a_value_error(kwargs: dict[str, Any]) -> None:
    arguments = {"token_url": "https://issuer.test/oauth/token", "client_id": "c",
                 "client_secret": SECRET, **kwargs}
    with pytest.raises(ValueError):
        TokenClient(**arguments)


def test_basic_form_urlencodes_id_and_secret_before_base64(stub: Stub) -> None:
    # RFC 6749 §2.3.1: a server decodes with unquote_plus, so "+", ":" and "%" survive.
    client_id, secret = "id with space+plus", "a:b%c+d e/é"
    TokenClient(stub.url + "/token", client_id, secret).get_token()

    (sent,) = stub.requests
    assert sent.method == "POST"
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    encoded = sent.headers["Authorization"].removeprefix("Basic ")
    decoded = base64.b64decode(encoded).decode()
    assert decoded == "id+with+space%2Bplus:a%3Ab%25c%2Bd+e%2F%C3%A9"
    assert [unquote_plus(part) for part in decoded.split(":")] == [client_id, secret]
    assert sent.form == {"grant_type": ["client_credentials"]}


def test_post_sends_id_and_secret_in_the_body(stub: Stub) -> None:
    token_client(stub, auth_method="client_secret_post").get_token()

    (sent,) = stub.requests
    assert "Authorization" not in sent.headers
    assert sent.form == {"grant_type": ["client_credentials"], "client_id": ["client-1"],
                         "client_secret": [SECRET]}


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({}, {}),
    ({"scope": "address phone", "expires_in": 3600},
     {"scope": ["address phone"], "expires_in": ["3600"]}),
    ({"scope": ["address", "phone"]}, {"scope": ["address phone"]}),
])
def test_scope_and_expires_in_are_sent_when_given(
    stub: Stub, kwargs: dict[str, Any], expected: dict[str, list[str]],
) -> None:
    token_client(stub, **kwargs).get_token()

    assert stub.requests[0].form == {"grant_type": ["client_credentials"], **expected}


# --- the token URL ---------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "https://issuer.test/oauth/token", "HTTPS://issuer.test:8443/oauth/token?tenant=a",
    "https://xn--exmple-cua.test/token", "https://[2001:db8::1]/token",
    "http://127.0.0.1:8000/oauth/token", "http://127.9.8.7/token", "http://[::1]:8000/token",
    "http://localhost/token", "http://LocalHost:8000/token",
])
def test_https_and_loopback_http_token_urls_are_accepted(url: str) -> None:
    assert TokenClient(url, "client-1", SECRET).token_url == url


@pytest.mark.parametrize("url", [
    "http://issuer.test/oauth/token", "http://10.0.0.1/token", "http://[::2]/token",
    "http://[::ffff:10.0.0.1]/token", "http://localhost.issuer.test/token",
    "http://127.0.0.1.nip.io/token",
])
def test_http_to_any_other_host_is_refused(url: str) -> None:
    """The credentials (and the token) would cross the network in clear text."""
    with pytest.raises(ValueError) as caught:
        TokenClient(url, "client-1", SECRET)

    assert repr(url) in str(caught.value)
    assert "https" in str(caught.value)
    assert not secret_shown(caught.value)


@pytest.mark.parametrize(("url", "problem"), [
    ("https://exämple.com/token", "non-ASCII"),
    ("https://issuer.test/tökén", "non-ASCII"),
    ("https://[::1/token", "cannot be parsed"),
    ("https://[not-an-address]/token", "cannot be parsed"),
    ("ftp://x/token", "not an http or https URL"),
    ("issuer.test/oauth/token", "not an http or https URL"),
    ("https:///token", "no host"),
    ("https://:443/token", "no host"),
    ("https://issuer.test:70000/token", "port"),
    ("https://issuer.test:0/token", "port"),
    ("https://issuer.test:https/token", "port"),
    ("https://iss<uer>.test/token", "host"),
    ("https://issuer.test/oauth token", "whitespace or control"),
    ("https://issuer.test/token\r\nX-Injected: 1", "whitespace or control"),
    (" https://issuer.test/token", "whitespace or control"),
    ("https://issuer.test/token\x00", "whitespace or control"),
    ("https://issuer.test/token#part", "fragment"),
    ("https://client-1@issuer.test/token", "credentials"),
    (b"https://issuer.test/token", "not a string"),
])
def test_a_malformed_token_url_is_a_value_error_that_names_the_problem(url: Any,
                                                                      problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        TokenClient(url, "client-1", SECRET)

    assert type(caught.value) is ValueError  # not a UnicodeError, nor one from urllib
    assert problem in str(caught.value)
    assert repr(url) in str(caught.value)
    assert not secret_shown(caught.value)


@pytest.mark.parametrize("url", [
    f"https://client-1:{SECRET}@issuer.test/token",
    f"https://client-1:{quote(SECRET, safe='')}@issuer.test/token",
    f"http://issuer.test/token?client_secret={quote_plus(SECRET)}",
])
def test_the_message_about_a_token_url_holding_the_secret_does_not_show_it(url: str) -> None:
    with pytest.raises(ValueError) as caught:
        TokenClient(url, "client-1", SECRET)

    message = str(caught.value)
    assert message.startswith("token_url 'http")
    assert "[redacted]" in message
    assert not [form for form in SECRET_FORMS if form in message]


# --- caching and refresh ---------------------------------------------------------------------

def test_token_is_reused_until_the_refresh_margin(stub: Stub,
                                                  fake_clock: clock.FrozenClock) -> None:
    tokens = token_client(stub, fake_clock)  # expires_in 900, refresh_margin 60

    assert tokens.get_token() == tokens.get_token() == "token-1"
    fake_clock.set(T0 + 840 - 0.001)
    assert tokens.get_token() == "token-1"
    assert len(stub.requests) == 1
    fake_clock.set(T0 + 840)  # exactly refresh_margin seconds before expiry
    assert tokens.get_token() == "token-2"
    assert tokens.get_token() == "token-2"
    assert len(stub.requests) == 2


def test_a_token_shorter_than_twice_the_margin_is_refreshed_at_half_life(
    stub: Stub, fake_clock: clock.FrozenClock,
) -> None:
    stub.routes["/token"] = lambda request: stub.token_reply(expires_in=30)
    tokens = token_client(stub, fake_clock)

    assert tokens.get_token() == "token-1"
    fake_clock.advance(14.9)
    assert tokens.get_token() == "token-1"
    fake_clock.advance(0.1)
    assert tokens.get_token() == "token-2"


@pytest.mark.parametrize("expires_in", [86_401, 10**30, 1e308, "999999999999"])
def test_a_token_is_believed_to_live_one_day_at_most(stub: Stub, fake_clock: clock.FrozenClock,
                                                      expires_in: Any) -> None:
    """Whatever the server says: believing 1e308 seconds, the client would never refresh."""
    stub.routes["/token"] = lambda request: reply(200, {
        "access_token": f"token-{next(stub.issued)}", "token_type": "Bearer",
        "expires_in": expires_in})
    tokens = token_client(stub, fake_clock)

    assert tokens.get_token() == "token-1"
    fake_clock.set(T0 + 86_400 - 60 - 0.001)
    assert tokens.get_token() == "token-1"
    fake_clock.set(T0 + 86_400 - 60)
    assert tokens.get_token() == "token-2"


def test_invalidate_forgets_the_token_only_if_it_is_still_cached(stub: Stub) -> None:
    tokens = token_client(stub)
    assert tokens.get_token() == "token-1"

    tokens.invalidate("token-0")  # an older token: the cached one stays
    assert tokens.get_token() == "token-1"
    tokens.invalidate("token-1")
    assert tokens.cached_token() is None
    assert tokens.get_token() == "token-2"
    tokens.invalidate()
    assert tokens.get_token() == "token-3"


class AtOnce:
    """``callers`` threads released together to call ``ask``; a route calls ``hold()`` to keep
    the one fetch open until every caller is under way."""

    def __init__(self, callers: int, ask: Callable[[], str]) -> None:
        self.callers, self.ask = callers, ask
        self.barrier = threading.Barrier(callers)
        self.arrived: list[None] = []
        self.results: list[str] = []  # tokens, or the error codes of TokenErrors

    def hold(self) -> None:
        deadline = time.monotonic() + 5
        while len(self.arrived) < self.callers and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.05)  # from arriving to waiting on the lock takes microseconds

    def _call(self) -> None:
        self.barrier.wait()
        self.arrived.append(None)
        try:
            self.results.append(self.ask())
        except TokenError as error:
            self.results.append(error.error)

    def run(self) -> list[str]:
        threads = [threading.Thread(target=self._call) for _ in range(self.callers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return self.results


@pytest.mark.parametrize(("answer", "outcome"), [
    (lambda stub: stub.token_reply(), "token-1"),
    (lambda stub: reply(401, {"error": "invalid_client"}), "invalid_client"),
], ids=["success", "failure"])
def test_concurrent_callers_share_one_fetch(stub: Stub, answer: Callable[[Stub], Reply],
                                            outcome: str) -> None:
    tokens = token_client(stub)
    callers = AtOnce(8, tokens.get_token)

    def held_open(request: Recorded) -> Reply:
        callers.hold()
        return answer(stub)

    stub.routes["/token"] = held_open

    assert callers.run() == [outcome] * 8
    assert len(stub.requests) == 1


def test_a_failed_refresh_returns_the_valid_token_and_logs(
    stub: Stub, fake_clock: clock.FrozenClock, caplog: pytest.LogCaptureFixture,
) -> None:
    tokens = token_client(stub, fake_clock)
    assert tokens.get_token() == "token-1"
    stub.routes["/token"] = lambda request: (503, {"Content-Type": "text/html"}, b"<h1>down</h1>")
    fake_clock.set(T0 + 840)

    with caplog.at_level(logging.WARNING, logger="oauth_cc.client"):
        assert tokens.get_token() == "token-1"
    (record,) = caplog.records
    assert record.name == "oauth_cc.client"
    assert "invalid_response" in record.getMessage()
    assert "60 more seconds" in record.getMessage()

    fake_clock.advance(4)  # within refresh_retry_interval: no new attempt
    assert tokens.get_token() == "token-1"
    assert len(stub.requests) == 2
    fake_clock.advance(1)
    assert tokens.get_token() == "token-1"
    assert len(stub.requests) == 3

    fake_clock.set(T0 + 900)  # expired: the failure is the caller's now
    with pytest.raises(TokenError) as caught:
        tokens.get_token()
    assert (caught.value.error, caught.value.status) == ("invalid_response", 503)

    stub.routes["/token"] = lambda request: stub.token_reply()
    assert tokens.get_token() == "token-2"


def held_token_route(stub: Stub) -> threading.Event:
    """Make ``/token`` answer only once ``stub.release`` is set (3 s at most); the returned
    event is set when a request has arrived."""
    arrived = threading.Event()

    def held(request: Recorded) -> Reply:
        arrived.set()
        stub.release.wait(3)
        return stub.token_reply()

    stub.routes["/token"] = held
    return arrived


def in_thread(call: Callable[[], object]) -> threading.Thread:
    """Start ``call`` in a thread; its outcome, token or TokenError, is not the point."""
    def run() -> None:
        with contextlib.suppress(TokenError):
            call()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_valid_token_is_returned_at_once_while_another_thread_refreshes_it(
    stub: Stub, fake_clock: clock.FrozenClock,
) -> None:
    tokens = token_client(stub, fake_clock, timeout=5)
    assert tokens.get_token() == "token-1"
    fake_clock.set(T0 + 850)  # inside the refresh margin, 50 s before expiry
    arrived = held_token_route(stub)
    refreshing = in_thread(tokens.get_token)
    assert arrived.wait(3)

    started = time.monotonic()
    assert [tokens.get_token() for _ in range(3)] == ["token-1"] * 3
    assert time.monotonic() - started < 1  # not held up by the refresh under way (3 s)

    stub.release.set()
    refreshing.join(5)
    assert tokens.get_token() == "token-2"
    assert len(stub.at("/token")) == 2


def test_invalidate_does_not_wait_for_a_fetch_under_way(
    stub: Stub, fake_clock: clock.FrozenClock,
) -> None:
    tokens = token_client(stub, fake_clock, timeout=5)
    assert tokens.get_token() == "token-1"
    fake_clock.set(T0 + 850)
    arrived = held_token_route(stub)
    refreshing = in_thread(tokens.get_token)
    assert arrived.wait(3)

    started = time.monotonic()
    tokens.invalidate("token-1")
    assert time.monotonic() - started < 1
    assert tokens.cached_token() is None

    stub.release.set()
    refreshing.join(5)
    assert tokens.get_token() == "token-2"  # the refresh's token is kept, not invalidated


def test_a_caller_without_a_valid_token_waits_at_most_the_timeout(
    stub: Stub, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Even when the fetch under way is stuck where no timeout reaches: name resolution."""
    resolving, resume = threading.Event(), threading.Event()
    resolve = socket.getaddrinfo

    def stuck_resolver(*args: Any, **kwargs: Any) -> Any:
        resolving.set()
        resume.wait(3)
        return resolve(*args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", stuck_resolver)
    tokens = token_client(stub, timeout=0.3)
    first = in_thread(tokens.get_token)
    assert resolving.wait(3)

    started = time.monotonic()
    with pytest.raises(TokenError) as caught:
        tokens.get_token()

    assert time.monotonic() - started < 1.5  # 0.3 s, not the 3 s the fetch is stuck
    assert caught.value.error == "network_error"
    resume.set()
    first.join(5)


# --- failures --------------------------------------------------------------------------------

@pytest.mark.parametrize(("answer", "error", "description"), [
    (reply(401, {"error": "invalid_client", "error_description": "Client authentication "
                 "failed."}, {"WWW-Authenticate": 'Basic realm="oauth"'}),
     "invalid_client", "Client authentication failed."),
    (reply(400, {"error": "invalid_scope"}), "invalid_scope", None),
    ((500, {"Content-Type": "text/html"}, b"<h1>Server Error (500)</h1>"),
     "invalid_response", "The token endpoint answered HTTP 500 with something other than a "
     "JSON object."),
    ((200, JSON, b"{not json"), "invalid_response", None),
    ((200, JSON, b"[" * 50_000), "invalid_response", None),  # RecursionError in json.loads
    (reply(200, ["access_token"]), "invalid_response", None),
    (reply(400, {"message": "no"}), "invalid_response",
     "The token endpoint answered HTTP 400 without an OAuth error."),
    (reply(200, {"token_type": "Bearer", "expires_in": 900}), "invalid_response",
     "The token response has no access_token."),
    (reply(200, {"access_token": "t", "token_type": "mac", "expires_in": 900}),
     "invalid_response", "The token response is not for a Bearer token."),
    (reply(200, {"access_token": "t", "token_type": "Bearer"}), "invalid_response",
     "The token response has no positive expires_in."),
    (reply(200, {"access_token": "t", "token_type": "Bearer", "expires_in": -5}),
     "invalid_response", "The token response has no positive expires_in."),
    *[((200, JSON, b'{"access_token": "t", "token_type": "Bearer", "expires_in": ' + value
        + b"}"), "invalid_response", "The token response has no positive expires_in.")
      for value in (b"1e400", b"NaN", b"Infinity", b'"' + b"9" * 5000 + b'"')],
    (reply(400, {"error": 'bad"quote'}), "invalid_response", None),
    (reply(400, {"error": "x" * 65}), "invalid_response", None),
    (reply(200, {"access_token": "a\r\nX-Evil: 1", "token_type": "Bearer", "expires_in": 9}),
     "invalid_response", "The token response has an access_token that cannot be sent as a "
     "Bearer token."),
    ((302, {"Location": "/elsewhere"}, b""), "invalid_response", None),
    ((200, JSON, b"{" + b" " * 70_000 + b"}"), "invalid_response",
     "The token endpoint's answer is too large."),
])
def test_an_unusable_answer_is_a_token_error(stub: Stub, answer: Reply, error: str,
                                             description: str | None) -> None:
    stub.routes["/token"] = lambda request: answer
    stub.routes["/elsewhere"] = lambda request: stub.token_reply()

    with pytest.raises(TokenError) as caught:
        token_client(stub).get_token()

    assert caught.value.error == error
    assert caught.value.status == answer[0]
    if description is not None:
        assert caught.value.error_description == description
    assert stub.at("/elsewhere") == []  # a redirect is never followed with the credentials


@pytest.mark.parametrize("location", ["http://[::1", "http://]x/", "//[", "http://[zz]/x",
                                      f"http://[{SECRET}]/x"])
def test_a_redirect_with_a_malformed_location_is_a_token_error(stub: Stub,
                                                               location: str) -> None:
    """urllib parsed Location before asking whether to follow it: a ValueError escaped, with
    whatever the server had put there (the secret it had just been sent, say)."""
    stub.routes["/token"] = lambda request: (302, {"Location": location}, b"")

    with pytest.raises(TokenError) as caught:
        token_client(stub).get_token()

    assert (caught.value.error, caught.value.status) == ("invalid_response", 302)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("auth_method", ["client_secret_post", "client_secret_basic"])
@pytest.mark.parametrize("status_line", [b"XTTP/1.1 %s", b"HTTP/9.%s 200 OK"],
                         ids=["bad status line", "unknown version"])
def test_an_answer_that_is_not_http_never_echoes_the_request(
    auth_method: str, status_line: bytes, caplog: pytest.LogCaptureFixture,
) -> None:
    """http.client's exceptions hold the bytes the server sent: a server that echoes the
    request (its body, its Basic header) into its status line put the secret into the
    TokenError and the log."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            request = b""
            while b"grant_type" not in request:
                request += connection.recv(65_536)
            echoed = request.replace(b"\r\n", b" ")[:60_000]
            connection.sendall(status_line % echoed + b"\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}/token"
    try:
        with caplog.at_level(logging.WARNING, logger="oauth_cc.client"), \
                pytest.raises(TokenError) as caught:
            TokenClient(url, "client-1", SECRET, auth_method=auth_method, timeout=5).get_token()
    finally:
        thread.join(5)
        server.close()

    assert caught.value.error == "network_error"
    basic = base64.b64encode(f"client-1:{SECRET}".encode()).decode()
    for text in (str(caught.value), caplog.text):
        assert SECRET not in text and quote_plus(SECRET) not in text and basic not in text
    assert len(str(caught.value)) < 300


def test_an_error_description_with_a_lone_surrogate_can_be_logged(stub: Stub) -> None:
    """JSON can escape half a surrogate pair: written as is, a UTF-8 log handler fails on it
    and the warning is lost."""
    stub.routes["/token"] = lambda request: (
        400, JSON, b'{"error": "invalid_request", "error_description": "bad \\ud800 x"}')

    with pytest.raises(TokenError) as caught:
        token_client(stub).get_token()

    assert caught.value.error_description == "bad   x"
    str(caught.value).encode("utf-8")  # what a log handler does


def test_an_error_description_is_kept_to_one_bounded_line(
    stub: Stub, caplog: pytest.LogCaptureFixture,
) -> None:
    """It goes into the exception and the log: a line break would forge log lines."""
    description = "Bad\r\nWARNING forged line\u2028" + "x" * 5000
    stub.routes["/token"] = lambda request: reply(400, {"error": "invalid_request",
                                                        "error_description": description})

    with caplog.at_level(logging.WARNING, logger="oauth_cc.client"), \
            pytest.raises(TokenError) as caught:
        token_client(stub).get_token()

    shown = caught.value.error_description or ""
    assert shown.startswith("Bad  WARNING forged line x")
    assert len(shown) <= 513
    assert len(caplog.records) == 1
    assert "\n" not in caplog.text.strip()


def test_a_lowercase_bearer_and_a_string_expires_in_are_accepted(stub: Stub) -> None:
    stub.routes["/token"] = lambda request: reply(
        200, {"access_token": "t", "token_type": "bearer", "expires_in": "900"})

    assert token_client(stub).get_token() == "t"


def test_no_server_is_a_network_error() -> None:
    with socket.socket() as sock:  # a port that nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    with pytest.raises(TokenError) as caught:
        TokenClient(f"http://127.0.0.1:{port}/oauth/token", "c", SECRET).get_token()

    assert caught.value.error == "network_error"
    assert caught.value.status is None
    assert "Could not reach the token endpoint" in str(caught.value)


@pytest.mark.parametrize("status", [200, 400])
def test_a_server_that_drips_its_answer_times_out_as_a_whole(status: int) -> None:
    """Each byte within the socket timeout, but the whole answer never: the timeout bounds
    the fetch, not only each read."""
    stop = threading.Event()

    class Drip(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            give_up = time.monotonic() + 4  # so that a client without a bound fails, not hangs
            while not stop.is_set() and time.monotonic() < give_up:
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return
                stop.wait(0.05)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(TokenError) as caught:
            TokenClient(f"http://127.0.0.1:{server.server_address[1]}/token", "c", SECRET,
                        timeout=0.5).get_token()
    finally:
        stop.set()
        server.shutdown()
        server.server_close()

    assert time.monotonic() - started < 2  # timeout + one read at most
    assert (caught.value.error, caught.value.error_description) == (
        "network_error", "The token endpoint did not answer within 0.5 seconds.")


@contextlib.contextmanager
def dripping(at_once: bytes, dripped: bytes, interval: float = 0.2,
             limit: float = 4) -> Iterator[str]:
    """A server that reads a request, sends ``at_once``, then ``dripped`` a byte every
    ``interval`` seconds (each well within the socket timeout), and hangs up after ``limit``
    seconds. Yields its token URL."""
    stop = threading.Event()
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.05)

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection, contextlib.suppress(OSError):
                connection.settimeout(5)
                connection.recv(65_536)
                connection.sendall(at_once)
                hang_up = time.monotonic() + limit
                for byte in dripped:
                    if stop.wait(interval) or time.monotonic() > hang_up:
                        break
                    connection.sendall(bytes([byte]))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/token"
    finally:
        stop.set()
        thread.join(5)
        server.close()


HEADERS = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: " + b"x" * 100
           + b"\r\nContent-Length: 2\r\n\r\n{}")


@pytest.mark.parametrize("at_once", [b"", b"HTTP/1.1 200 OK\r\n"],
                         ids=["status-line", "headers"])
def test_a_server_that_drips_its_status_line_or_headers_times_out_as_a_whole(
    at_once: bytes,
) -> None:
    with dripping(at_once, HEADERS.removeprefix(at_once)) as url:
        started = time.monotonic()
        with pytest.raises(TokenError) as caught:
            TokenClient(url, "client-1", SECRET, timeout=1).get_token()
        elapsed = time.monotonic() - started

    assert elapsed < 2  # the timeout and one drip, not the 4 s of the whole drip
    assert (caught.value.error, caught.value.error_description) == (
        "network_error", "The token endpoint did not answer within 1 seconds.")


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture
def https_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """An HTTPS token endpoint on 127.0.0.1 with a certificate that the client's default
    context trusts (through SSL_CERT_FILE)."""
    cert_file, key_file = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"access_token": "over-tls", "token_type": "Bearer",
                               "expires_in": 900}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


@contextlib.contextmanager
def dripping_relay(port: int, interval: float) -> Iterator[int]:
    """A TCP relay to ``port`` that passes on what the server sends a byte every ``interval``
    seconds. Yields its own port."""
    stop = threading.Event()
    relay = socket.create_server(("127.0.0.1", 0))
    relay.settimeout(0.05)

    def pump(source: socket.socket, target: socket.socket, size: int) -> None:
        with contextlib.suppress(OSError):
            while not stop.is_set() and (data := source.recv(size)):
                target.sendall(data)
                stop.wait(interval if size == 1 else 0)
        source.close()
        target.close()

    def serve() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                client, _ = relay.accept()
                server = socket.create_connection(("127.0.0.1", port))
                client.settimeout(5)
                server.settimeout(5)
                threading.Thread(target=pump, args=(client, server, 65_536), daemon=True).start()
                threading.Thread(target=pump, args=(server, client, 1), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield relay.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        relay.close()


def test_a_token_is_fetched_over_https(https_port: int) -> None:
    tokens = TokenClient(f"https://127.0.0.1:{https_port}/token", "client-1", SECRET, timeout=5)

    assert tokens.get_token() == "over-tls"


def test_a_dripped_tls_handshake_times_out_as_a_whole(https_port: int) -> None:
    with dripping_relay(https_port, interval=0.01) as port:  # the handshake would take seconds
        started = time.monotonic()
        with pytest.raises(TokenError) as caught:
            TokenClient(f"https://127.0.0.1:{port}/token", "client-1", SECRET,
                        timeout=0.5).get_token()
        elapsed = time.monotonic() - started

    assert elapsed < 2
    assert caught.value.error == "network_error"


def test_a_server_that_does_not_answer_times_out(stub: Stub) -> None:
    def hang(request: Recorded) -> Reply:
        stub.release.wait(10)
        return stub.token_reply()

    stub.routes["/token"] = hang
    started = time.monotonic()

    with pytest.raises(TokenError) as caught:
        token_client(stub, timeout=0.2).get_token()

    assert time.monotonic() - started < 2
    assert caught.value.error == "network_error"
    assert caught.value.error_description == (
        "The token endpoint did not answer within 0.2 seconds.")


def echo(request: Recorded) -> Reply:
    """A careless server that echoes the request in its error description, and the secret
    (as it appears in the body or the Basic credentials) in its error code."""
    sent = f"{request.body.decode()} {request.headers.get('Authorization')}"
    return reply(401, {"error": f"bad_{SECRET}", "error_description": f"Bad: {sent}"})


SECRET_FORMS = (SECRET, quote_plus(SECRET), quote(SECRET, safe=""),
                base64.b64encode(f"client-1:{quote_plus(SECRET)}".encode()).decode())


def safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception as error:  # an object that __init__ left half-made, say
        return f"<no repr: {error!r}>"


def shown_in_report(error: BaseException) -> str:
    """What an error report (Django's, Sentry's) shows of ``error``: the text and the library's
    frames' local variables of it and of every exception chained to it."""
    shown: list[str] = []
    pending: list[BaseException | None] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        shown += [str(current), repr(current)]
        traceback = current.__traceback__
        while traceback is not None:
            frame = traceback.tb_frame
            if "test_client" not in frame.f_code.co_filename:
                shown += [safe_repr(value) for value in frame.f_locals.values()]
            traceback = traceback.tb_next
        pending += [current.__cause__, current.__context__]
    return "\n".join(shown)


def secret_shown(error: BaseException) -> bool:
    report = shown_in_report(error)
    return any(form in report for form in SECRET_FORMS)


@pytest.mark.parametrize("auth_method", ["client_secret_post", "client_secret_basic"])
def test_the_secret_never_appears_in_reprs_errors_or_logs(
    stub: Stub, caplog: pytest.LogCaptureFixture, auth_method: str,
) -> None:
    stub.routes["/token"] = echo
    tokens = token_client(stub, auth_method=auth_method)

    with caplog.at_level(logging.DEBUG, logger="oauth_cc.client"), \
            pytest.raises(TokenError) as caught:
        tokens.get_token()

    assert "[redacted]" in str(caught.value)
    basic = base64.b64encode(f"client-1:{quote_plus(SECRET)}".encode()).decode()
    shown = [repr(tokens), str(caught.value), repr(caught.value), caplog.text,
             repr(requests_adapter.TokenAuth(tokens)), repr(httpx_adapter.TokenAuth(tokens)),
             caught.value.error, shown_in_report(caught.value)]
    assert "client-1" in repr(tokens)
    assert not [text for text in shown if SECRET in text or quote_plus(SECRET) in text
                or basic in text]


@pytest.mark.parametrize("route", ["down", "reset"])
def test_a_network_error_keeps_no_frame_with_the_secret(stub: Stub, route: str) -> None:
    """The chained low-level error's frames hold the request bytes: it is not kept."""
    if route == "down":
        tokens = TokenClient("http://127.0.0.1:9/token", "client-1", SECRET,
                             auth_method="client_secret_post", timeout=1)
    else:
        stub.routes["/token"] = lambda request: (200, {"Content-Length": "999"}, b"{")
        tokens = token_client(stub, auth_method="client_secret_post")

    with pytest.raises(TokenError) as caught:
        tokens.get_token()

    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert not secret_shown(caught.value)


def unforeseen(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("something nobody foresaw")


@pytest.mark.parametrize("auth_method", ["client_secret_post", "client_secret_basic"])
@pytest.mark.parametrize("failure", ["refused", "unreachable", "reset", "dripped", "not-json",
                                     "unforeseen"])
def test_no_exception_from_get_token_shows_the_secret(
    stub: Stub, monkeypatch: pytest.MonkeyPatch, failure: str, auth_method: str,
) -> None:
    routes: dict[str, Callable[[Recorded], Reply]] = {
        "refused": echo,
        "reset": lambda request: (200, {"Content-Length": "999"}, b"{"),
        "not-json": lambda request: (200, JSON, b"{not json"),
    }
    if failure in routes:
        stub.routes["/token"] = routes[failure]
    if failure == "unforeseen":
        monkeypatch.setattr(http.client.HTTPConnection, "getresponse", unforeseen)
    with contextlib.ExitStack() as stack:
        url = (stub.url + "/token" if failure != "dripped" else
               stack.enter_context(dripping(b"HTTP/1.1 200 OK\r\n", HEADERS, interval=0.05)))
        if failure == "unreachable":
            url = "http://127.0.0.1:9/token"
        tokens = TokenClient(url, "client-1", SECRET, auth_method=auth_method, timeout=0.5)
        with pytest.raises((TokenError, RuntimeError)) as caught:
            tokens.get_token()

    assert isinstance(caught.value, RuntimeError) == (failure == "unforeseen")
    assert not secret_shown(caught.value)


@pytest.mark.parametrize("kwargs", [
    {"token_url": "https://exämple.com/token"}, {"token_url": "https://[::1/token"},
    {"token_url": "https://issuer.test:99999/token"}, {"token_url": "http://issuer.test/token"},
    {"token_url": None}, {"auth_method": "private_key_jwt"}, {"timeout": "10"},
    {"scope": ["address", 2]}, {"client_secret": SECRET + "\n"},
])
def test_no_exception_from_the_constructor_shows_the_secret(kwargs: dict[str, Any]) -> None:
    arguments = {"token_url": "https://issuer.test/token", "client_id": "client-1",
                 "client_secret": SECRET, **kwargs}

    with pytest.raises((ValueError, TypeError)) as caught:
        TokenClient(**arguments)

    assert not secret_shown(caught.value)


@pytest.mark.parametrize(("status", "challenge", "body", "rejected"), [
    (401, 'Bearer realm="api", error="invalid_token", error_description="x"', b"", True),
    (401, "Bearer error=invalid_token", None, True),
    (401, 'Bearer realm="api"', b"", False),  # no credentials: a new token would not help
    (401, 'Bearer realm="api", error="insufficient_scope"', None, False),
    (401, 'Bearer realm="api", xerror="invalid_token"', None, False),
    (403, 'Bearer error="invalid_token"', None, False),
    (400, None, json.dumps(SEED_1024).encode(), True),
    (200, None, b'{"error_code": 1024}', True),
    (400, None, b'{"error_code": "1025", "message": "1024"}', False),
    (400, None, b"error_code 1024", False),
    (200, None, b'[{"error_code": "1024"}]', False),
    (400, None, b"[" * 50_000 + b'"1024"', False),
])
def test_token_rejected(status: int, challenge: str | None, body: bytes | None,
                        rejected: bool) -> None:
    assert token_rejected(status, challenge, body) is rejected


# --- adapters --------------------------------------------------------------------------------

ADAPTERS = ["requests", "httpx", "httpx-async"]
TLS = ssl.create_default_context()  # made once: httpx would load the CA bundle per client


def send(kind: str, tokens: TokenClient, method: str, url: str, **kwargs: Any
         ) -> tuple[int, list[int]]:
    """One request through an adapter: the status and the statuses in its history."""
    if kind == "requests":
        with requests.Session() as session:
            session.auth = requests_adapter.TokenAuth(tokens)
            response = session.request(method, url, timeout=5, **kwargs)
            return response.status_code, [r.status_code for r in response.history]
    if kind == "httpx":
        with httpx.Client(auth=httpx_adapter.TokenAuth(tokens), timeout=5,
                          verify=TLS) as http:
            answer = http.request(method, url, **kwargs)
            return answer.status_code, [r.status_code for r in answer.history]

    async def asynchronous() -> tuple[int, list[int]]:
        async with httpx.AsyncClient(auth=httpx_adapter.TokenAuth(tokens), timeout=5,
                                     verify=TLS) as http:
            answer = await http.request(method, url, **kwargs)
            return answer.status_code, [r.status_code for r in answer.history]

    return asyncio.run(asynchronous())


@pytest.fixture
def api(stub: Stub) -> Callable[[Reply], list[str]]:
    """Serve ``/api`` accepting only the listed tokens, rejecting others with ``rejection``."""
    accepted: list[str] = []

    def configure(rejection: Reply) -> list[str]:
        def answer(request: Recorded) -> Reply:
            if request.headers.get("Authorization", "").removeprefix("Bearer ") in accepted:
                return reply(200, {"success": True})
            return rejection
        stub.routes["/api"] = answer
        return accepted

    return configure


@pytest.mark.parametrize("kind", ADAPTERS)
@pytest.mark.parametrize("rejection", [
    reply(401, {"error": "invalid_token"}, INVALID_TOKEN_CHALLENGE),
    reply(400, SEED_1024),
], ids=["401-invalid_token", "400-error_code-1024"])
def test_adapters_retry_once_with_a_new_token(stub: Stub, api: Callable[[Reply], list[str]],
                                              kind: str, rejection: Reply) -> None:
    api(rejection).append("token-2")

    status, history = send(kind, token_client(stub), "POST", stub.url + "/api",
                           data={"q": "274 Harb"})

    assert (status, history) == (200, [rejection[0]])
    calls = stub.at("/api")
    assert [call.headers["Authorization"] for call in calls] == ["Bearer token-1",
                                                                 "Bearer token-2"]
    assert [call.body for call in calls] == [b"q=274+Harb"] * 2
    assert len(stub.at("/token")) == 2


@pytest.mark.parametrize("kind", ADAPTERS)
def test_adapters_retry_only_once(stub: Stub, api: Callable[[Reply], list[str]],
                                  kind: str) -> None:
    api(reply(400, SEED_1024))  # every token is rejected

    status, history = send(kind, token_client(stub), "GET", stub.url + "/api")

    assert (status, history) == (400, [400])
    assert len(stub.at("/api")) == 2
    assert len(stub.at("/token")) == 2


@pytest.mark.parametrize("kind", ADAPTERS)
@pytest.mark.parametrize("answer", [
    reply(200, {"success": True}),
    reply(401, {"detail": "No bearer token was sent."},
          {"WWW-Authenticate": 'Bearer realm="api"'}),
    reply(403, {"error": "insufficient_scope"},
          {"WWW-Authenticate": 'Bearer realm="api", error="insufficient_scope"'}),
    reply(400, {"completions": [], "error_code": "1001", "success": False}),
    (500, {"Content-Type": "text/plain"}, b"error_code 1024"),
], ids=["ok", "401-no-error", "403-insufficient_scope", "400-error_code-1001", "500-text"])
def test_adapters_do_not_retry_other_answers(stub: Stub, api: Callable[[Reply], list[str]],
                                             kind: str, answer: Reply) -> None:
    api(answer)

    status, history = send(kind, token_client(stub), "GET", stub.url + "/api")

    assert (status, history) == (answer[0], [])
    assert len(stub.at("/api")) == 1
    assert len(stub.at("/token")) == 1


@pytest.mark.parametrize("kind", ADAPTERS)
def test_adapters_reuse_the_cached_token(stub: Stub, api: Callable[[Reply], list[str]],
                                         kind: str) -> None:
    api(reply(400, SEED_1024)).append("token-1")
    tokens = token_client(stub)

    for _ in range(3):
        assert send(kind, tokens, "GET", stub.url + "/api") == (200, [])

    assert len(stub.at("/token")) == 1


def test_the_requests_adapter_rewinds_a_file_body(stub: Stub, api: Callable[[Reply], list[str]],
                                                  tmp_path: Path) -> None:
    api(reply(400, SEED_1024)).append("token-2")
    upload = tmp_path / "upload.txt"
    upload.write_bytes(b"header\nbody")

    with upload.open("rb") as body:
        body.readline()  # the request starts where the file's position is
        assert send("requests", token_client(stub), "POST", stub.url + "/api",
                    data=body) == (200, [400])

    assert [call.body for call in stub.at("/api")] == [b"body", b"body"]


@pytest.mark.parametrize("kind", ADAPTERS)
def test_a_refusal_from_another_host_after_a_redirect_costs_no_token(stub: Stub,
                                                                      kind: str) -> None:
    """Both libraries drop Authorization on a redirect to another host; the adapters must not
    answer that host's 401 by fetching a new token, let alone by sending it there."""
    other_host = stub.url.replace("127.0.0.1", "localhost")
    stub.routes["/api"] = lambda request: (302, {"Location": other_host + "/collect"}, b"")
    stub.routes["/collect"] = lambda request: reply(401, {"error": "invalid_token"},
                                                    INVALID_TOKEN_CHALLENGE)

    extra = {} if kind == "requests" else {"follow_redirects": True}
    status, history = send(kind, token_client(stub), "GET", stub.url + "/api", **extra)

    assert (status, history) == (401, [302])
    assert [call.headers.get("Authorization") for call in stub.at("/collect")] == [None]
    assert len(stub.at("/token")) == 1


def _proof_url(request: Recorded) -> str | None:
    """The htu of the request's DPoP proof (unverified: what was sent is the point)."""
    proof = request.headers.get("DPoP")
    if proof is None:
        return None
    payload = proof.split(".")[1]
    htu: str = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["htu"]
    return htu


@pytest.mark.parametrize("kind", ADAPTERS)
@pytest.mark.parametrize("dpop", [False, True], ids=["bearer", "dpop"])
def test_a_retry_that_is_redirected_carries_the_new_token_and_a_proof_for_each_url(
        stub: Stub, kind: str, dpop: bool) -> None:
    """/api refuses the first token; the retry with the second is redirected to /api2, which
    takes only the second token, with a proof for /api2. requests followed the redirect from
    the first request (with the refused token); httpx gave up on the refused proof."""
    scheme = "DPoP" if dpop else "Bearer"
    stub.routes["/token"] = lambda request: reply(200, {
        "access_token": f"token-{next(stub.issued)}", "token_type": scheme, "expires_in": 900})

    def good(request: Recorded, path: str) -> bool:
        return (request.headers.get("Authorization") == f"{scheme} token-2"
                and (not dpop or _proof_url(request) == stub.url + path))

    stub.routes["/api"] = lambda request: (
        (302, {"Location": "/api2"}, b"") if good(request, "/api")
        else reply(401, {"error": "invalid_token"}, INVALID_TOKEN_CHALLENGE))
    stub.routes["/api2"] = lambda request: (
        reply(200, {"ok": True}) if good(request, "/api2")
        else reply(401, {"error": "invalid_token"}, INVALID_TOKEN_CHALLENGE))
    tokens = TokenClient(stub.url + "/token", "client-1", SECRET, dpop=dpop)

    extra = {} if kind == "requests" else {"follow_redirects": True}
    status, _ = send(kind, tokens, "GET", stub.url + "/api", **extra)

    assert status == 200
    at_api2 = stub.at("/api2")
    assert good(at_api2[-1], "/api2")
    # Never the refused token. Neither library has a hook before a redirected request is
    # sent: requests sends it without a proof, httpx with the one it copies (for /api), and
    # refused, it goes again with a proof for /api2.
    assert {r.headers.get("Authorization") for r in at_api2} == {f"{scheme} token-2"}
    if dpop:
        first_proof = None if kind == "requests" else stub.url + "/api"
        assert [_proof_url(r) for r in at_api2] == [first_proof, stub.url + "/api2"]
    else:
        assert len(at_api2) == 1
    assert len(stub.at("/token")) == 2


def test_a_retry_redirected_to_another_host_takes_no_proof_there(stub: Stub) -> None:
    """requests drops Authorization on a redirect to another host; the proof must go too."""
    stub.routes["/token"] = lambda request: reply(200, {
        "access_token": f"token-{next(stub.issued)}", "token_type": "DPoP", "expires_in": 900})
    other_host = stub.url.replace("127.0.0.1", "localhost")
    stub.routes["/api"] = lambda request: (
        reply(401, {"error": "invalid_token"}, INVALID_TOKEN_CHALLENGE)
        if request.headers.get("Authorization") == "DPoP token-1"
        else (302, {"Location": other_host + "/collect"}, b""))
    stub.routes["/collect"] = lambda request: reply(200, {"ok": True})
    tokens = TokenClient(stub.url + "/token", "client-1", SECRET, dpop=True)

    assert send("requests", tokens, "GET", stub.url + "/api")[0] == 200

    assert [(r.headers.get("Authorization"), r.headers.get("DPoP"))
            for r in stub.at("/collect")] == [(None, None)]


@pytest.mark.parametrize("kind", ADAPTERS)
def test_a_call_renews_its_token_once_however_many_redirects_refuse_it(stub: Stub,
                                                                       kind: str) -> None:
    """Each hop refuses the first token and redirects to the next: one new token, and each
    hop asked once with it after the first refusal."""
    hops = itertools.count()

    def answer(request: Recorded) -> Reply:
        if request.headers.get("Authorization") == "Bearer token-1":
            return reply(401, {"error": "invalid_token"}, INVALID_TOKEN_CHALLENGE)
        hop = next(hops)
        return (302, {"Location": f"/api?hop={hop}"}, b"") if hop < 10 else reply(200, {})

    stub.routes["/api"] = answer

    extra = {} if kind == "requests" else {"follow_redirects": True}
    status, _ = send(kind, token_client(stub), "GET", stub.url + "/api", **extra)

    assert status == 200
    assert [r.headers.get("Authorization") for r in stub.at("/api")].count(
        "Bearer token-1") == 1
    assert len(stub.at("/token")) == 2


def test_the_requests_adapter_sends_an_unseekable_body_once(stub: Stub,
                                                            api: Callable[[Reply], list[str]]
                                                            ) -> None:
    api(reply(400, SEED_1024)).append("token-1")
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "wb") as writer:
        writer.write(b"from a pipe")
    with os.fdopen(read_end, "rb") as body:
        assert send("requests", token_client(stub), "POST", stub.url + "/api",
                    data=body) == (200, [])
    # Sent chunked (no length is known), which this stub does not decode: one call is the point.
    assert [call.headers.get("Transfer-Encoding") for call in stub.at("/api")] == ["chunked"]


@pytest.mark.parametrize("kind", ADAPTERS)
def test_adapters_raise_token_error_when_no_token_can_be_had(stub: Stub, kind: str) -> None:
    stub.routes["/token"] = lambda request: reply(401, {"error": "invalid_client"})
    stub.routes["/api"] = lambda request: reply(200, {})

    with pytest.raises(TokenError) as caught:
        send(kind, token_client(stub), "GET", stub.url + "/api")

    assert caught.value.error == "invalid_client"
    assert stub.at("/api") == []
