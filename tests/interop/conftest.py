"""Fixtures for the interoperability tests (CONTRACT.md §8): real clients, real HTTP.

Each test runs against pytest-django's live server on loopback, with ``ISSUER`` set to the
server's real URL so that discovery, ``iss`` and ``aud`` line up with what clients see.
A missing tool (curl, node, npm) or an npm registry that cannot be reached skips the tests that
need it, unless ``OAUTH_CC_REQUIRE_INTEROP=1`` (as in CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from django.test import override_settings
from pytest_django.live_server_helper import LiveServer

from oauth_cc.models import Client
from tests.interop.support import Issuer


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """pytest-django's live server, but on 127.0.0.1 unless ``--liveserver`` says otherwise.

    ``localhost`` may resolve to ``::1`` first for Node and curl while Django's server listens
    on IPv4 only; the literal address keeps every client on the same socket.
    """
    addr = (request.config.getvalue("liveserver")
            or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "127.0.0.1")
    server = LiveServer(addr)
    yield server
    server.stop()


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
