"""Fixtures for the interoperability tests (CONTRACT.md §8): real clients, real HTTP.

Each test runs against pytest-django's live server on loopback, with ``ISSUER`` set to the
server's real URL so that discovery, ``iss`` and ``aud`` line up with what clients see.
A missing tool (curl, node, npm) or an npm registry that cannot be reached skips the tests that
need it, unless ``OAUTH_CC_REQUIRE_INTEROP=1`` (as in CI), which turns the skip into a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.test import override_settings
from pytest_django.live_server_helper import LiveServer

from oauth_cc.models import Client
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
