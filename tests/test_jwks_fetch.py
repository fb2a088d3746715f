"""The JWK Set fetcher, against raw HTTP servers on 127.0.0.1 that send what the test says."""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import threading
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from oauth_cc import keys
from oauth_cc.jwks_fetch import FetchedJWKS, JWKSFetchError, fetch_jwks, max_age

TIMEOUT = 0.5
# How long a fetch may take when it times out: generous, as two cores are shared.
BOUND = TIMEOUT + 3.0
MAX_BYTES = 65_536


class RawServer:
    """Answers every connection with ``raw`` at once, then ``dripped`` a byte per
    ``drip_interval`` (each well within a socket timeout) for at most ``drip_for`` seconds."""

    def __init__(self) -> None:
        self.raw = b""
        self.dripped = b""
        self.drip_interval, self.drip_for = 0.05, 8.0
        self.read_request = True  # off: answer at once, as a TLS server speaks after a hello
        self.requests: list[bytes] = []
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                head = b""
                while server.read_request and not head.endswith(b"\r\n\r\n"):
                    line = self.rfile.readline()
                    if not line:
                        return
                    head += line
                server.requests.append(head)
                try:
                    self.wfile.write(server.raw)
                    stop = time.monotonic() + server.drip_for
                    for byte in server.dripped:
                        if time.monotonic() > stop:
                            return
                        time.sleep(server.drip_interval)
                        self.wfile.write(bytes([byte]))
                except OSError:
                    pass  # the fetcher gave up and closed the connection

        self.tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.tcp.daemon_threads = True
        self.tcp.block_on_close = False  # a dripping handler must not hold up the test
        self.origin = f"http://127.0.0.1:{self.tcp.server_address[1]}"
        self.url = self.origin + "/.well-known/jwks.json"
        threading.Thread(target=self.tcp.serve_forever, args=(0.05,), daemon=True).start()

    def answer(self, body: bytes | dict[str, Any], status: str = "200 OK",
               headers: str = "Content-Type: application/json\r\n", *,
               length: int | None = None) -> None:
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        size = len(body) if length is None else length
        self.raw = (f"HTTP/1.1 {status}\r\n{headers}Content-Length: {size}\r\n"
                    "Connection: close\r\n\r\n").encode() + body

    def close(self) -> None:
        self.tcp.shutdown()
        self.tcp.server_close()


@pytest.fixture
def server():
    raw = RawServer()
    yield raw
    raw.close()


def jwk(key: Any, **members: str) -> dict[str, str]:
    return {**keys.public_jwk(key.public_key()), **members}


def fetch(url: str, max_bytes: int = MAX_BYTES) -> FetchedJWKS:
    return fetch_jwks(url, timeout=TIMEOUT, max_bytes=max_bytes)


def test_returns_the_public_signing_keys_and_the_max_age(server):
    rsa_key = keys.generate_private_key("RS256")
    ec_key = keys.generate_private_key("ES256")
    ed_key = keys.generate_private_key("EdDSA")
    server.answer({"keys": [jwk(rsa_key, kid="r", alg="RS256", use="sig"),
                            jwk(ec_key, kid="e", alg="ES256"),
                            jwk(ed_key)]},
                  headers="Cache-Control: public, max-age=120\r\n")
    fetched = fetch(server.url)
    assert fetched.max_age == 120
    assert [(k.kid, k.alg) for k in fetched.keys] == [("r", "RS256"), ("e", "ES256"),
                                                      (None, None)]
    assert isinstance(fetched.keys[0].key, rsa.RSAPublicKey)
    assert isinstance(fetched.keys[1].key, ec.EllipticCurvePublicKey)
    assert isinstance(fetched.keys[2].key, ed25519.Ed25519PublicKey)
    assert server.requests[0].startswith(b"GET /.well-known/jwks.json HTTP/1.1\r\n")


def test_leaves_out_what_cannot_verify_a_signature(server, caplog):
    key = keys.generate_private_key("RS256")
    server.answer({"keys": [
        "not an object",
        jwk(key, kid="encryption", use="enc"),
        {**jwk(key, kid="wrapping"), "key_ops": ["wrapKey"]},
        {**jwk(key, kid="private"), "d": "c2VjcmV0"},
        {"kty": "oct", "kid": "symmetric", "k": "c2VjcmV0", "alg": "HS256"},
        {"kty": "RSA", "kid": "broken", "n": "AQAB", "e": "AQAB"},
        {"kty": "OKP", "kid": "x25519", "crv": "X25519", "x": "A" * 43},
        {**jwk(key, kid="verifying"), "key_ops": ["verify"]},
        {**jwk(key), "kid": 7, "alg": ["RS256"]},
    ]})
    with caplog.at_level(logging.WARNING, logger="oauth_cc"):
        fetched = fetch(server.url)
    assert [(k.kid, k.alg) for k in fetched.keys] == [("verifying", None), (None, None)]
    assert "private or symmetric key (kid 'private')" in caplog.text
    assert "private or symmetric key (kid 'symmetric')" in caplog.text
    assert "unusable key (kid 'broken')" in caplog.text


@pytest.mark.parametrize(("header", "expected"), [
    ("max-age=300", 300), ('public, max-age="60"', 60), ("MAX-AGE=5, public", 5),
    ("no-store", 0), ("no-cache, max-age=300", 0), ("public", None), ("", None),
    ("s-maxage=60", None), ("max-age=99999999999", 2**31), ("max-age=" + "9" * 5000, 2**31),
])
def test_max_age(header, expected):
    assert max_age(header) == expected


def test_an_empty_key_set_is_a_key_set(server):
    server.answer({"keys": []})
    assert fetch(server.url).keys == ()


@pytest.mark.parametrize("body", [b"{\"keys\": {}}", b"[]", b"not json", b"[" * 50_000,
                                  b"\xff\xfe"])
def test_what_is_not_a_jwk_set_is_an_error(server, body):
    server.answer(body)
    with pytest.raises(JWKSFetchError, match=r"not JSON|not a JWK Set"):
        fetch(server.url)


@pytest.mark.parametrize("status", ["301 Moved Permanently", "302 Found", "303 See Other",
                                    "307 Temporary Redirect", "308 Permanent Redirect"])
def test_redirects_are_not_followed(server, status):
    elsewhere = RawServer()
    try:
        elsewhere.answer({"keys": []})
        server.answer({"keys": []}, status, f"Location: {elsewhere.url}\r\n")
        with pytest.raises(JWKSFetchError, match="redirects are not followed") as raised:
            fetch(server.url)
        assert elsewhere.url in str(raised.value)
        assert elsewhere.requests == []
    finally:
        elsewhere.close()


@pytest.mark.parametrize("status", ["204 No Content", "203 Non-Authoritative Information",
                                    "304 Not Modified", "404 Not Found", "500 Oops"])
def test_any_answer_but_200_is_an_error(server, status):
    server.answer({"keys": []}, status)
    with pytest.raises(JWKSFetchError, match=f"answered HTTP {status[:3]}"):
        fetch(server.url)


def test_a_body_of_max_bytes_is_read(server):
    document = json.dumps({"keys": []}).encode()
    server.answer(document + b" " * (MAX_BYTES - len(document)))
    assert fetch(server.url).keys == ()


@pytest.mark.parametrize("framing", ["declared", "chunked", "until-close"])
def test_a_body_past_max_bytes_is_an_error(server, framing):
    document = json.dumps({"keys": []}).encode() + b" " * MAX_BYTES
    if framing == "declared":  # refused on its Content-Length, before any of it is read
        server.answer(b"", length=len(document))
        server.dripped = document
    elif framing == "chunked":
        server.raw = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      + b"%x\r\n" % len(document) + document + b"\r\n0\r\n\r\n")
    else:
        server.raw = b"HTTP/1.0 200 OK\r\n\r\n" + document
    with pytest.raises(JWKSFetchError, match="larger than 65536 bytes"):
        fetch(server.url)


def test_a_body_shorter_than_its_content_length_is_an_error(server):
    server.answer(b"{\"keys\": []}", length=100)
    with pytest.raises(JWKSFetchError, match="ended before its Content-Length"):
        fetch(server.url)


@pytest.mark.parametrize("part", ["status line", "headers", "body"])
def test_a_dripping_server_cannot_stretch_the_fetch_past_its_timeout(server, part):
    server.answer({"keys": []})
    split = {"status line": 0, "headers": server.raw.index(b"\r\n") + 2,
             "body": server.raw.index(b"\r\n\r\n") + 4}[part]
    server.raw, server.dripped = server.raw[:split], server.raw[split:]
    started = time.monotonic()
    with pytest.raises(JWKSFetchError, match=f"took more than {TIMEOUT} s"):
        fetch(server.url)
    assert time.monotonic() - started < BOUND


def test_a_tls_handshake_cannot_stretch_the_fetch_past_its_timeout(server):
    """A server that dawdles over its TLS records: the handshake shares the one deadline."""
    server.read_request = False
    server.dripped = b"\x16\x03\x03\x40\x00" + b"\x00" * 1000  # a handshake record, slowly
    started = time.monotonic()
    with pytest.raises(JWKSFetchError, match=f"took more than {TIMEOUT} s"):
        fetch(server.url.replace("http://", "https://"))
    assert time.monotonic() - started < BOUND


def test_name_resolution_cannot_stretch_the_fetch_past_its_timeout(monkeypatch):
    def slow_resolver(*args: Any, **kwargs: Any) -> Any:
        time.sleep(8)
        raise socket.gaierror("gave up")

    monkeypatch.setattr(socket, "getaddrinfo", slow_resolver)
    started = time.monotonic()
    with pytest.raises(JWKSFetchError, match=f"took more than {TIMEOUT} s"):
        fetch("https://issuer.invalid/.well-known/jwks.json")
    assert time.monotonic() - started < BOUND


def test_a_resolver_error_is_a_fetch_error(monkeypatch):
    def failing_resolver(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror("Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", failing_resolver)
    with pytest.raises(JWKSFetchError, match="Name or service not known"):
        fetch("https://issuer.invalid/.well-known/jwks.json")


def test_a_server_that_is_down_is_a_fetch_error(server):
    server.close()
    with pytest.raises(JWKSFetchError, match="failed"):
        fetch(server.url)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/jwks.json", "file:///etc/passwd",
                                 "/.well-known/jwks.json", "https://", "http://127.0.0.1:x/",
                                 "https://user:secret@issuer.test/jwks.json",
                                 "https://user:secret@issuer.test:x/jwks.json"])
def test_only_http_urls_without_credentials(url):
    with pytest.raises(JWKSFetchError) as raised:
        fetch(url)
    assert "secret" not in str(raised.value)


def test_the_request_names_the_host_and_the_query(server):
    server.answer({"keys": []})
    fetch(server.origin + "/keys?tenant=a#fragment")
    request = server.requests[0].decode()
    assert request.startswith("GET /keys?tenant=a HTTP/1.1\r\n")
    assert f"\r\nHost: {server.origin.removeprefix('http://')}\r\n" in request
