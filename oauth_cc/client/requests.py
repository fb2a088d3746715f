"""The ``requests`` adapter (extra ``[requests]``)::

    import requests
    from oauth_cc.client import TokenClient
    from oauth_cc.client.requests import TokenAuth

    session = requests.Session()
    session.auth = TokenAuth(TokenClient(TOKEN_URL, CLIENT_ID, CLIENT_SECRET))
    session.get("https://api.example.com/api/au/address/autocomplete/", params={"q": "274 Harb"})
"""

from __future__ import annotations

from typing import Any

import requests
from requests.cookies import extract_cookies_to_jar

from oauth_cc.client.rejection import is_json, token_rejected
from oauth_cc.client.token_client import TokenClient


class TokenAuth(requests.auth.AuthBase):
    """Sends ``Authorization: Bearer <token>`` from ``token_client``; for a client made with
    ``dpop=True``, ``Authorization: DPoP <token>`` and a ``DPoP`` header with a fresh proof for
    this request's method and URL (RFC 9449 §7.1).

    When the API rejects the token (a 401 with ``error="invalid_token"``, or a JSON body with
    ``"error_code": "1024"``), the token is forgotten and the request sent once more with a new
    one (and a new proof), once per call however many redirects follow; the rejected response
    is then in ``response.history``, and redirects from there carry the new token. A body that
    is a file is rewound for that; a generator body cannot be, so such a request is not
    retried. Any other answer, a DPoP nonce challenge (``use_dpop_nonce``, RFC 9449 §9)
    included, is returned as it is. A DPoP proof is never sent on to where a redirect points:
    it names one URL. The redirected request, refused without one, is sent again with the same
    token and a proof for its own URL.
    Raises ``oauth_cc.client.TokenError`` when no token can be had.
    """

    def __init__(self, token_client: TokenClient) -> None:
        self.token_client = token_client

    def __repr__(self) -> str:
        return f"TokenAuth({self.token_client!r})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self.token_client.get_token()
        sent = self._authorize(request, token)
        position = _position(request.body)
        resendable = position is not None or isinstance(request.body, str | bytes | None)
        renewed = False  # a new token at most once per call, however many redirects refuse

        def retry_once(response: requests.Response, **kwargs: Any) -> requests.Response:
            nonlocal token, sent, renewed
            # requests runs this hook on redirected answers too, and strips Authorization on
            # a redirect to another host: only an answer to our token may cost a new one.
            ours = response.request.headers.get("Authorization") == sent
            if ours and response.is_redirect and "DPoP" in response.request.headers:
                # A proof names one URL, and its jti is used up: the request where this points
                # (requests copies this one) goes without, and gets its own below.
                del response.request.headers["DPoP"]
                return response
            if (not resendable or not ours
                    or not self._rejected(response, streamed=bool(kwargs.get("stream")))):
                return response
            # A redirected request we sent without a proof: the token is not the problem.
            refused_token = self.token_client.dpop_jkt is None or "DPoP" in response.request.headers
            if refused_token and renewed:
                return response
            renewed = renewed or refused_token
            retried, token = self._retry(response, token, position, new_token=refused_token,
                                         **kwargs)
            # requests follows a redirect of the retried answer from the request this hook
            # was given (it copies it for each hop): it must carry the token the retry sent,
            # and no proof, which names this URL only.
            sent = self.token_client.authorization(token)
            response.request.headers["Authorization"] = sent
            response.request.headers.pop("DPoP", None)
            return retried

        request.register_hook("response", retry_once)
        return request

    def _rejected(self, response: requests.Response, *, streamed: bool) -> bool:
        # A streamed success is left for the caller to read; refusals are small and read.
        readable = is_json(response.headers.get("Content-Type")) and (
            not streamed or response.status_code >= 400)
        body = response.content if readable else None
        return token_rejected(response.status_code, response.headers.get("WWW-Authenticate"),
                              body)

    def _retry(self, response: requests.Response, token: str, position: int | None, *,
               new_token: bool = True, **kwargs: Any) -> tuple[requests.Response, str]:
        """The answer to ``response``'s request sent again, and the token it was sent with.

        Sent by the connection, not the session, so no response hook (this one included)
        runs on it: one retry per answer. ``new_token``: the token was refused (else only
        the DPoP proof is made again, for this request's URL)."""
        response.close()
        if new_token:
            self.token_client.invalidate(token)
            token = self.token_client.get_token()
        request = response.request.copy()
        if request._cookies is not None:  # as requests' own HTTPDigestAuth does
            extract_cookies_to_jar(request._cookies, response.request, response.raw)
            request.prepare_cookies(request._cookies)
        self._authorize(request, token)
        if position is not None:
            request.body.seek(position)  # type: ignore[union-attr]
        retried: requests.Response = response.connection.send(request, **kwargs)
        retried.history.append(response)
        retried.request = request
        return retried, token

    def _authorize(self, request: requests.PreparedRequest, token: str) -> str:
        """Put ``token`` (and a DPoP proof for it, if the client uses DPoP) on ``request``;
        returns the ``Authorization`` value sent."""
        sent = self.token_client.authorization(token)
        request.headers["Authorization"] = sent
        if self.token_client.dpop_jkt is not None:
            request.headers["DPoP"] = self.token_client.dpop_proof(
                request.method or "GET", request.url or "", token)
        return sent


def _position(body: Any) -> int | None:
    """Where a file body starts, to rewind it for a retry; None if it cannot be rewound."""
    tell = getattr(body, "tell", None)
    if tell is None:
        return None
    try:
        position: int = tell()
    except OSError:  # a pipe or a socket: sent once, as requests itself does
        return None
    return position
