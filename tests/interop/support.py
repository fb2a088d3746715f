"""Shared by the interop tests: where the live issuer is, and what to do when a tool is missing."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import NoReturn

import pytest

REQUIRE_ENV = "OAUTH_CC_REQUIRE_INTEROP"


def unavailable(reason: str) -> NoReturn:
    """Skip for a missing tool, or fail when the environment requires every interop test."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1, so this is a failure)", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class Issuer:
    """The live issuer: its identifier (the server's real URL) and the URLs a client needs."""

    url: str

    @property
    def token_url(self) -> str:
        return self.url + "/oauth/token"

    @property
    def jwks_url(self) -> str:
        return self.url + "/.well-known/jwks.json"

    @property
    def audience(self) -> str:
        return self.url  # AUDIENCE is unset, so it defaults to the issuer
