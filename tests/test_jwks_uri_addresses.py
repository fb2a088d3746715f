"""A client's jwks_uri is fetched from public addresses only (client_jwks.address_policy).

Customers set the URL themselves, in the portal: without a policy they could make the server
send requests into its own network (cloud metadata at 169.254.169.254, RFC 1918 hosts), by
an address or by a name that resolves to one. The policy is checked on each address the
name resolves to, just before connecting to it, so a name that resolves differently on the
next lookup (DNS rebinding) gains nothing. A loopback URL (http://127.0.0.1, localhost) is
allowed, as registration allows it: development and tests. Remote mode's issuer JWKS URL is
the operator's, and is fetched without a policy.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from ipaddress import ip_address
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from oauth_cc.client_jwks import address_policy, validate_jwks_uri
from oauth_cc.deadline_http import AddressNotAllowed
from oauth_cc.jwks_fetch import JWKSFetchError, fetch_jwks
from oauth_cc.models import Client
from tests.test_client_assertion import (
    ISSUER,
    assertion_request,
    claims_for,
    private_key,
    public_jwk,
    refused,
    sign,
)
from tests.test_remote_jwks import JWKSServer

PUBLIC_URL = "https://keys.example/jwks.json"


# The policy


@pytest.mark.parametrize(("address", "allowed"), [
    ("10.0.0.1", False),  # RFC 1918
    ("172.16.0.1", False),
    ("192.168.1.1", False),
    ("169.254.169.254", False),  # link-local: cloud metadata
    ("100.64.0.1", False),  # shared address space (RFC 6598)
    ("0.0.0.0", False),  # unspecified: connects to this host  # noqa: S104
    ("224.0.0.1", False),  # multicast, which ipaddress counts as global
    ("240.0.0.1", False),  # reserved
    ("255.255.255.255", False),
    ("192.0.2.1", False),  # documentation
    ("127.0.0.1", False),  # loopback, for a URL whose host is not a loopback one
    ("::1", False),
    ("::", False),
    ("fc00::1", False),  # unique-local
    ("fe80::1", False),  # link-local
    ("fe80::1%eth0", False),
    ("fec0::1", False),  # site-local (deprecated), which ipaddress counts as global
    ("ff02::1", False),
    ("::ffff:10.0.0.1", False),  # IPv4-mapped
    ("::ffff:169.254.169.254", False),
    ("::ffff:127.0.0.1", False),
    ("::a00:5", False),  # IPv4-compatible (deprecated)
    ("64:ff9b::a9fe:a9fe", False),  # NAT64 (RFC 6052) of 169.254.169.254
    ("2002:a00:5::1", False),  # 6to4 of 10.0.0.5
    ("8.8.8.8", True),
    ("2001:4860:4860::8888", True),
    ("::ffff:8.8.8.8", True),
    ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8: how an IPv6-only host reaches it
])
def test_only_globally_routable_addresses_for_a_public_host(address, allowed):
    assert address_policy(PUBLIC_URL)(ip_address(address)) is allowed


@pytest.mark.parametrize(("url", "address", "allowed"), [
    ("http://127.0.0.1:8000/jwks.json", "127.0.0.1", True),
    ("http://127.0.0.2/jwks.json", "127.0.0.2", True),
    ("http://localhost/jwks.json", "127.0.0.1", True),
    ("http://LOCALHOST/jwks.json", "::1", True),
    ("http://[::1]:9000/jwks", "::1", True),
    ("http://localhost/jwks.json", "::ffff:127.0.0.1", True),
    # A loopback host allows loopback addresses, not the internal network.
    ("http://localhost/jwks.json", "10.0.0.1", False),
    ("http://localhost/jwks.json", "169.254.169.254", False),
    ("http://127.0.0.1/jwks.json", "fe80::1", False),
    # A public name, or a loopback address spelt otherwise, allows no loopback address.
    ("https://keys.example/jwks.json", "127.0.0.1", False),
    ("https://localhost.keys.example/jwks.json", "127.0.0.1", False),
    ("https://0x7f000001/jwks.json", "127.0.0.1", False),
    ("not a url", "127.0.0.1", False),
])
def test_loopback_addresses_only_for_a_loopback_host(url, address, allowed):
    assert address_policy(url)(ip_address(address)) is allowed


# Fetching a client's keys


class Network:
    """Name resolution and connections as the fetcher sees them, at the socket boundary.

    ``names`` maps a host name to the addresses it resolves to (other names resolve as
    usual). A connection to one of those addresses is recorded in ``attempts`` and, unless
    ``connect`` is set, refused at once, never made. Other connections (the database, a
    JWKS server at its own URL) are neither recorded nor touched.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: dict[str, list[str]] = {}
        self.attempts: list[tuple[str, int]] = []
        self.connect = False
        self._faked: set[tuple[str, int]] = set()
        real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

        def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
            if host not in self.names:
                return real_getaddrinfo(host, port, *args, **kwargs)
            found = []
            for address in self.names[host]:
                family = socket.AF_INET6 if ":" in address else socket.AF_INET
                self._faked.add((address, port))
                found.append((family, socket.SOCK_STREAM, 6, "", (address, port)))
            return found

        def connect(sock: socket.socket, address: Any) -> None:
            if tuple(address[:2]) in self._faked:
                self.attempts.append(tuple(address[:2]))
                if not self.connect:
                    raise ConnectionRefusedError("refused by the test")
            real_connect(sock, address)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> Network:
    return Network(monkeypatch)


@pytest.fixture
def jwks_server() -> Iterator[JWKSServer]:
    server = JWKSServer()
    yield server
    server.close()


@pytest.fixture
def make_uri_client(scopes, settings, frozen_clock):
    """Makes a private_key_jwt client whose jwks_uri is ``url``; returns ``(client, key)``,
    the key (kid "k1") being the one ``jwks_server`` would serve for it."""
    settings.OAUTH_CC = {"ISSUER": ISSUER, "JWKS_FETCH_TIMEOUT": 5.0}

    def make(url: str, server: JWKSServer | None = None) -> tuple[Client, Any]:
        key = private_key()
        if server is not None:
            server.document = {"keys": [public_jwk(key)]}
        client = Client.objects.create_secretless_client("uri client", scopes=["address"],
                                                         jwks_uri=url)
        return client, key

    return make


pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("addresses", [["169.254.169.254"], ["10.0.0.5"],
                                       ["fd00::5", "::ffff:10.0.0.5", "169.254.169.254"]])
def test_a_jwks_uri_naming_an_internal_address_is_never_connected_to(
        http, network, make_uri_client, caplog, addresses):
    caplog.set_level(logging.WARNING, logger="oauth_cc")
    network.names["keys.example"] = addresses
    client, key = make_uri_client(PUBLIC_URL)
    response = assertion_request(http, sign(key, claims_for(client.client_id)))
    refused(response, "could not be fetched")
    assert network.attempts == []
    logged = caplog.text
    assert "keys.example" in logged
    assert "not allowed" in logged
    for address in addresses:  # neither the client nor the log learns where it points
        assert address not in response.content.decode() + logged


def test_a_public_name_that_resolves_to_loopback_is_refused(http, network, make_uri_client,
                                                            jwks_server):
    port = jwks_server.httpd.server_address[1]
    url = f"https://keys.example:{port}/jwks.json"
    network.names["keys.example"] = ["127.0.0.1"]
    client, key = make_uri_client(url, jwks_server)
    refused(assertion_request(http, sign(key, claims_for(client.client_id))),
            "could not be fetched")
    assert network.attempts == []
    assert jwks_server.hits == 0


def test_a_loopback_jwks_uri_is_fetched(http, make_uri_client, jwks_server):
    client, key = make_uri_client(jwks_server.url, jwks_server)  # http://127.0.0.1:<port>/...
    response = assertion_request(http, sign(key, claims_for(client.client_id)))
    assert response.status_code == 200, response.content
    assert jwks_server.hits == 1


# The fetcher itself: a policy only when one is given


def test_without_a_policy_any_address_is_fetched(network, jwks_server):
    """As remote mode fetches its issuer's keys: the operator chose the URL."""
    port = jwks_server.httpd.server_address[1]
    network.names["issuer.internal"] = ["127.0.0.1"]
    network.connect = True
    jwks_server.document = {"keys": [public_jwk(private_key("EC"))]}
    url = f"http://issuer.internal:{port}/.well-known/jwks.json"
    fetched = fetch_jwks(url, timeout=5, max_bytes=65_536)
    assert len(fetched.keys) == 1
    assert network.attempts == [("127.0.0.1", port)]


def test_with_a_policy_a_refused_address_fails_the_fetch(network):
    network.names["keys.example"] = ["10.0.0.5"]
    with pytest.raises(JWKSFetchError, match="not allowed") as raised:
        fetch_jwks(PUBLIC_URL, timeout=5, max_bytes=65_536,
                   allow_address=address_policy(PUBLIC_URL))
    assert isinstance(raised.value.__cause__, AddressNotAllowed)
    assert "10.0.0.5" not in str(raised.value)
    assert network.attempts == []


@pytest.mark.parametrize("url", [
    "https://169.254.169.254/latest/meta-data/jwks",  # cloud metadata
    "https://10.0.0.7/jwks.json",
    "https://192.168.1.1:8443/jwks.json",
    "https://[fd00::1]/jwks.json",  # unique-local
    "https://[::ffff:10.0.0.7]/jwks.json",  # IPv4-mapped private
    "https://0.0.0.0/jwks.json",
])
def test_registration_refuses_an_address_it_would_not_fetch_from(url):
    """Told at once, in the admin or the portal, rather than at the first token request."""
    with pytest.raises(ValidationError, match="does not fetch from"):
        validate_jwks_uri(url)


@pytest.mark.parametrize("url", [
    "https://8.8.8.8/jwks.json",
    "https://[2606:4700:4700::1111]/jwks.json",
    "http://127.0.0.1:8000/jwks.json",  # loopback, for development
    "https://localhost/jwks.json",
    "https://keys.example.com/jwks.json",  # a name: judged by its addresses when fetched
])
def test_registration_accepts_public_and_loopback_addresses_and_names(url):
    assert validate_jwks_uri(url) == url
