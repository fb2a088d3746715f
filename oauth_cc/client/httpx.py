"""The ``httpx`` adapter (extra ``[httpx]``), for ``httpx.Client`` and ``httpx.AsyncClient``::

    import httpx
    from oauth_cc.client import TokenClient
    from oauth_cc.client.httpx import TokenAuth

    auth = TokenAuth(TokenClient(TOKEN_URL, CLIENT_ID, CLIENT_SECRET))
    with httpx.Client(auth=auth) as http:
        http.get("https://api.example.com/api/au/address/autocomplete/", params={"q": "274"})
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator

import anyio.to_thread
import httpx

from oauth_cc.client.rejection import is_json, token_rejected
from oauth_cc.client.token_client import TokenClient


class TokenAuth(httpx.Auth):
    """Sends ``Authorization: Bearer <token>`` from ``token_client``; for a client made with
    ``dpop=True``, ``Authorization: DPoP <token>`` and a ``DPoP`` header with a fresh proof for
    this request's method and URL (RFC 9449 §7.1).

    When the API rejects the token (a 401 with ``error="invalid_token"``, or a JSON body with
    ``"error_code": "1024"``), the token is forgotten and the request sent once more with a new
    one (and a new proof); the rejected response is then in ``response.history``. With
    ``follow_redirects``, a DPoP request refused after a redirect (the first request's, or the
    retry's) is sent again with the same token and a proof for the URL it was redirected to:
    httpx copies the headers to where a redirect points, the proof for another URL included.
    Any other answer, a DPoP nonce challenge (``use_dpop_nonce``, RFC 9449 §9) included, is
    returned as it is. The request body is read first so that it can be sent twice. With
    ``AsyncClient``, a token fetch runs in a worker thread and never blocks the event loop.
    Raises ``oauth_cc.client.TokenError`` when no token can be had.
    """

    def __init__(self, token_client: TokenClient) -> None:
        self.token_client = token_client

    def __repr__(self) -> str:
        return f"TokenAuth({self.token_client!r})"

    def sync_auth_flow(self, request: httpx.Request
                       ) -> Generator[httpx.Request, httpx.Response, None]:
        request.read()
        token = self.token_client.get_token()
        self._authorize(request, token)
        response = yield request
        if is_json(response.headers.get("Content-Type")):
            response.read()
        if self._stale_proof(response, token):
            self._authorize(response.request, token)
            response = yield response.request
            if is_json(response.headers.get("Content-Type")):
                response.read()
        if self._rejected(response, token):
            self.token_client.invalidate(token)
            token = self.token_client.get_token()
            self._authorize(response.request, token)
            response = yield response.request
            if is_json(response.headers.get("Content-Type")):
                response.read()
            if self._stale_proof(response, token):  # the retry was redirected
                self._authorize(response.request, token)
                yield response.request

    async def async_auth_flow(self, request: httpx.Request
                              ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        token = await self._get_token()
        self._authorize(request, token)
        response = yield request
        if is_json(response.headers.get("Content-Type")):
            await response.aread()
        if self._stale_proof(response, token):
            self._authorize(response.request, token)
            response = yield response.request
            if is_json(response.headers.get("Content-Type")):
                await response.aread()
        if self._rejected(response, token):
            self.token_client.invalidate(token)  # never waits for a fetch: fine on the loop
            token = await self._get_token()
            self._authorize(response.request, token)
            response = yield response.request
            if is_json(response.headers.get("Content-Type")):
                await response.aread()
            if self._stale_proof(response, token):  # the retry was redirected
                self._authorize(response.request, token)
                yield response.request

    async def _get_token(self) -> str:
        cached = self.token_client.cached_token()
        if cached is not None:
            return cached
        return await anyio.to_thread.run_sync(self.token_client.get_token)

    def _authorize(self, request: httpx.Request, token: str) -> None:
        """Put ``token`` (and a DPoP proof for it, if the client uses DPoP) on ``request``."""
        request.headers["Authorization"] = self.token_client.authorization(token)
        if self.token_client.dpop_jkt is not None:
            # A signature: microseconds, fine on the event loop.
            request.headers["DPoP"] = self.token_client.dpop_proof(
                request.method, str(request.url), token)

    def _stale_proof(self, response: httpx.Response, token: str) -> bool:
        """Whether ``response`` refused a request that followed a redirect with the DPoP
        proof made for the URL before it: httpx copies the headers to where a redirect
        points, and a proof names one URL (and its jti is used up). That request is then sent
        again with the same token and a proof for its own URL."""
        return (self.token_client.dpop_jkt is not None and bool(response.history)
                and self._rejected(response, token))

    def _rejected(self, response: httpx.Response, token: str) -> bool:
        # After a redirect to another origin httpx sends no Authorization: an answer from
        # there says nothing about our token.
        if response.request.headers.get("Authorization") != self.token_client.authorization(
                token):
            return False
        body = response.content if is_json(response.headers.get("Content-Type")) else None
        return token_rejected(response.status_code, response.headers.get("WWW-Authenticate"),
                              body)
