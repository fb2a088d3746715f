"""Fixtures for the interoperability tests (CONTRACT.md §8): real clients, real HTTP.

Each test runs against pytest-django's live server on loopback, with ``ISSUER`` set to the
server's real URL so that discovery, ``iss`` and ``aud`` line up with what clients see.
A missing tool (curl, node, npm) or an npm registry that cannot be reached skips the tests that
need it, unless ``OAUTH_CC_REQUIRE_INTEROP=1`` (as in CI), which turns the skip into a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.test import override_settings
from pytest_django.live_server_helper import LiveServer

from oauth_cc.client.private_key import public_jwk_set
from oauth_cc.models import Client, Scope
from tests.interop.support import Issuer


@pytest.fixture
def issuer(live_server: LiveServer) -> Iterator[Issuer]:
    """The live server as the issuer: ``ISSUER`` is its real URL for the test's duration."""
    with override_settings(OAUTH_CC={"ISSUER": live_server.url}):
        yield Issuer(live_server.url)


@pytest.fixture
def client_pair(make_client: Callable[..., tuple[Client, str]]) -> tuple[Client, str]:
    """A client allowed "address" and "phone" (the seed's example), with its plain secret."""
    return make_client(("address", "phone"))


@pytest.fixture
def insecure_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    """oauthlib's own switch for plain http (Authlib already allows http on loopback)."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@dataclass(frozen=True, repr=False)
class KeyedClient:
    """A ``private_key_jwt`` client (allowed "address" and "phone") and its private key, made
    for the test: the public half registered as ``kid``; the key never leaves memory, bar the
    PEM handed to a Node script through its environment."""

    client: Client
    key: Any
    kid: str

    @property
    def pem(self) -> str:
        pem: bytes = self.key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption())
        return pem.decode()


def new_private_key(kind: str) -> Any:
    """A new private key: ``rsa`` (2048 bits), ``ec`` (P-256) or ``ed25519``."""
    if kind == "rsa":
        return rsa.generate_private_key(65537, 2048)
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture
def make_keyed_client(scopes: dict[str, Scope]) -> Callable[..., KeyedClient]:
    """``make_keyed_client("rsa" | "ec" | "ed25519", kid=..., alg=None)``: a secretless client
    with a new key of that kind, its public JWK registered under ``kid``, with ``alg`` when
    given (without one, the key verifies every algorithm of its type: RS256 and PS256 for
    RSA)."""

    def make(kind: str = "rsa", *, kid: str = "interop-1", alg: str | None = None
             ) -> KeyedClient:
        key = new_private_key(kind)
        jwks = public_jwk_set(key, kid)
        (jwk,) = jwks["keys"]
        del jwk["alg"]
        if alg is not None:
            jwk["alg"] = alg
        client = Client.objects.create_secretless_client(
            f"keyed {kind}", scopes=["address", "phone"], jwks=jwks)
        return KeyedClient(client, key, kid)

    return make
