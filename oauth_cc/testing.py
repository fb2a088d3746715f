"""Helpers for a site's own tests: a valid access token in one call, no token endpoint.

    from oauth_cc.testing import mint_token, bearer

    token = mint_token(scopes=["address"])                  # a throwaway client
    response = client.get("/api/...", headers=bearer(token))

With pytest, add ``pytest_plugins = ["oauth_cc.testing"]`` to your ``conftest.py`` and use the
``oauth_cc_token`` fixture: ``oauth_cc_token("address", "phone")`` returns a token string.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from oauth_cc.models import Client, Scope
from oauth_cc.tokens import mint_access_token


def mint_token(client: Client | None = None, scopes: Iterable[str] | None = None, *,
               expires_in: int | None = None, jkt: str | None = None) -> str:
    """A signed access token for ``client`` with ``scopes``.

    With ``jkt`` (the RFC 7638 thumbprint of a DPoP key, e.g. ``TokenClient.dpop_jkt`` or
    ``oauth_cc.dpop.jwk_thumbprint(public_key)``) the token is DPoP-bound to that key
    (``cnf.jkt``, RFC 9449 §6.1): send it as ``Authorization: DPoP <token>`` with a proof.

    ``client`` defaults to a new throwaway client (and project) allowed exactly ``scopes``,
    creating any scope that does not exist. ``scopes`` defaults to the client's allowed
    scopes. Needs database access (the client and the signing key live there).
    """
    if client is None:
        names = sorted(set(scopes or ()))
        for name in names:
            Scope.objects.get_or_create(name=name)
        client, _ = Client.objects.create_client("oauth_cc.testing client", scopes=names)
    if scopes is None:
        scopes = client.scopes.values_list("name", flat=True)
    issued = mint_access_token(client_id=client.client_id, project_id=client.project_id,
                               scopes=list(scopes), expires_in=expires_in, jkt=jkt)
    return issued.access_token


def bearer(token: str) -> dict[str, str]:
    """Request headers that carry ``token`` (for ``Client.get(..., headers=...)``)."""
    return {"Authorization": f"Bearer {token}"}


try:
    import pytest
except ImportError:  # pragma: no cover - pytest is a test dependency only
    pass
else:

    @pytest.fixture
    def oauth_cc_token(db: Any) -> Callable[..., str]:
        """``oauth_cc_token(*scopes, client=None, expires_in=None)`` -> a token string."""

        def make(*scopes: str, client: Client | None = None,
                 expires_in: int | None = None) -> str:
            return mint_token(client, scopes or None, expires_in=expires_in)

        return make
