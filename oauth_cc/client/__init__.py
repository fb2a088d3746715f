"""The consumer side: get, cache and refresh access tokens, and send them to APIs.

``TokenClient`` needs only the standard library, and neither Django nor its settings::

    from oauth_cc.client import TokenClient, TokenError

    tokens = TokenClient("https://api.example.com/oauth/token", CLIENT_ID, CLIENT_SECRET,
                         scope="address")
    headers = {"Authorization": f"Bearer {tokens.get_token()}"}

A secretless client (``private_key_jwt``, RFC 7523) gives its private key instead of a secret
and signs a new assertion for each token request::

    tokens = TokenClient(TOKEN_URL, CLIENT_ID, private_key=PEM, key_id="key-1")

(``oauth_cc.client.private_key.public_jwk_set`` makes the JWK Set to register for it.)

``TokenClient(..., dpop=True)`` gets DPoP-bound tokens (RFC 9449): it keeps one in-memory key,
sends a proof of it with each token request, and ``dpop_proof(method, url, token)`` makes the
``DPoP`` header for an API request (the adapters below do that themselves).

Adapters add the header and retry once with a new token when an API rejects the token:
``oauth_cc.client.requests.TokenAuth`` (extra ``[requests]``) and
``oauth_cc.client.httpx.TokenAuth`` (extra ``[httpx]``). Import them from those modules; this
one imports neither library.
"""

from __future__ import annotations

from oauth_cc.client.rejection import token_rejected
from oauth_cc.client.token_client import TokenClient, TokenError

__all__ = ["TokenClient", "TokenError", "token_rejected"]
