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
    """Sends ``Authorization: Bearer <token>`` from ``token_client``.

    When the API rejects the token (a 401 with ``error="invalid_token"``, or a JSON body with
    ``"error_code": "1024"``), the token is forgotten and the request sent once more with a new
    one; the rejected response is then in ``response.history``. The request body is read
    first so that it can be sent twice. With ``AsyncClient``, a token fetch runs in a worker
    thread and never blocks the event loop. Raises ``oauth_cc.client.TokenError`` when no
    token can be had.
    """

    def __init__(self, token_client: TokenClient) -> None:
        self.token_client = token_client

    def __repr__(self) -> str:
        return f"TokenAuth({self.token_client!r})"

    def sync_auth_flow(self, request: httpx.Request
                       ) -> Generator[httpx.Request, httpx.Response, None]:
        request.read()
        token = self.token_client.get_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if is_json(response.headers.get("Content-Type")):
            response.read()
        if self._rejected(response, token):
            self.token_client.invalidate(token)
            request.headers["Authorization"] = f"Bearer {self.token_client.get_token()}"
            yield request

    async def async_auth_flow(self, request: httpx.Request
                              ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        token = await self._get_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if is_json(response.headers.get("Content-Type")):
            await response.aread()
        if self._rejected(response, token):
            self.token_client.invalidate(token)  # never waits for a fetch: fine on the loop
            request.headers["Authorization"] = f"Bearer {await self._get_token()}"
            yield request

    async def _get_token(self) -> str:
        cached = self.token_client.cached_token()
        if cached is not None:
            return cached
        return await anyio.to_thread.run_sync(self.token_client.get_token)

    @staticmethod
    def _rejected(response: httpx.Response, token: str) -> bool:
        # After a redirect to another origin httpx sends no Authorization: an answer from
        # there says nothing about our token.
        if response.request.headers.get("Authorization") != f"Bearer {token}":
            return False
        body = response.content if is_json(response.headers.get("Content-Type")) else None
        return token_rejected(response.status_code, response.headers.get("WWW-Authenticate"),
                              body)
