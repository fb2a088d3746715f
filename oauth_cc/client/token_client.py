"""``TokenClient``: get, cache and refresh an access token by the client credentials grant.

Standard library only, and no Django: API consumers install the package for this alone.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import math
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

from oauth_cc import __version__

logger = logging.getLogger("oauth_cc.client")

AUTH_METHODS = ("client_secret_basic", "client_secret_post")
MAX_RESPONSE_BYTES = 65_536
REDACTED = "[redacted]"
# RFC 6749 §5.2: an error code is 1*( %x20-21 / %x23-5B / %x5D-7E ); ours are far shorter.
_ERROR_CODE = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}")
# RFC 6750 §2.1: what an Authorization: Bearer header can carry.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class TokenError(Exception):
    """No access token could be had.

    ``error`` is the token endpoint's RFC 6749 §5.2 code (``invalid_client``, ``invalid_scope``,
    ...), or one of the client's own: ``network_error`` (no connection, a timeout) and
    ``invalid_response`` (an answer that is not a token response or a JSON error).
    ``error_description`` says more; ``status`` is the HTTP status, None when there was none.
    Neither ever holds the client secret.
    """

    def __init__(self, error: str, error_description: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(error, error_description, status)
        self.error = error
        self.error_description = error_description
        self.status = status

    def __str__(self) -> str:
        text = self.error if not self.error_description else (
            f"{self.error}: {self.error_description}")
        return text if self.status is None else f"{text} (HTTP {self.status})"

    def __repr__(self) -> str:
        return (f"TokenError(error={self.error!r}, error_description="
                f"{self.error_description!r}, status={self.status!r})")

    def copy(self) -> TokenError:
        """A new exception with the same fields, to raise in another thread."""
        return TokenError(self.error, self.error_description, self.status)


@dataclass(frozen=True, repr=False)
class _Token:
    value: str
    expires_at: float
    refresh_at: float


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirected POST would carry the Basic credentials (urllib keeps Authorization) to
    # wherever the redirect points; a token endpoint has no reason to redirect.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class TokenClient:
    """Hands out one cached access token per client, fetching a new one shortly before expiry.

    ``get_token()`` returns the cached token until ``refresh_margin`` seconds before it expires
    (or half its lifetime, for a token that lives less than twice the margin), then fetches
    a new one from ``token_url`` (RFC 6749 §4.4). It is thread-safe: callers that ask at once
    while a fetch is under way wait for that fetch and share its outcome.

    A refresh that fails while the current token is still valid logs a warning and returns
    the current token; the next attempt is made after ``refresh_retry_interval`` seconds. With
    no valid token, a failure raises ``TokenError``.

    ``auth_method`` is ``client_secret_basic`` (HTTP Basic, id and secret form-urlencoded first
    as RFC 6749 §2.3.1 says) or ``client_secret_post`` (both in the body). ``scope`` (a
    space-separated string or an iterable of names) and ``expires_in`` are sent when given.
    ``timeout`` bounds the connection, each read and the reading of the whole answer, in
    seconds. ``clock`` measures the token's lifetime in seconds: monotonic by default, so
    that the wall clock stepping back cannot keep an expired token in use (tests pass a
    frozen one).
    """

    #: Seconds to wait after a failed refresh before trying again, while the token is valid.
    refresh_retry_interval = 5.0

    def __init__(self, token_url: str, client_id: str, client_secret: str,
                 scope: str | Iterable[str] | None = None, expires_in: int | None = None,
                 refresh_margin: float = 60, auth_method: str = "client_secret_basic",
                 timeout: float = 10, *, clock: Callable[[], float] = time.monotonic) -> None:
        if urlsplit(token_url).scheme.lower() not in ("http", "https"):
            raise ValueError("token_url must be an http or https URL.")
        if auth_method not in AUTH_METHODS:
            raise ValueError(f"auth_method must be one of {', '.join(AUTH_METHODS)}, "
                             f"not {auth_method!r}.")
        if not client_id or not client_secret:
            raise ValueError("client_id and client_secret are required.")
        if expires_in is not None and (isinstance(expires_in, bool) or expires_in < 1):
            raise ValueError("expires_in must be a positive number of seconds.")
        if refresh_margin < 0 or timeout <= 0:
            raise ValueError("refresh_margin must be >= 0 and timeout > 0.")
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.scope = scope if scope is None or isinstance(scope, str) else " ".join(scope)
        self.expires_in = expires_in
        self.refresh_margin = refresh_margin
        self.auth_method = auth_method
        self.timeout = timeout
        self._clock = clock
        self._opener = urllib.request.build_opener(_NoRedirects)
        self._lock = threading.Lock()
        self._token: _Token | None = None
        self._fetches = 0  # completed fetches, so waiting callers can tell one happened
        self._failure: TokenError | None = None
        self._retry_at = 0.0

    def __repr__(self) -> str:
        return (f"TokenClient(token_url={self.token_url!r}, client_id={self.client_id!r}, "
                f"scope={self.scope!r}, auth_method={self.auth_method!r})")

    def get_token(self) -> str:
        """The access token to send as ``Authorization: Bearer <token>``.

        Raises ``TokenError`` when there is no valid token and none can be fetched.
        """
        token = self.cached_token()
        if token is not None:
            return token
        seen = self._fetches
        with self._lock:
            now = self._clock()
            current = self._token
            if current is not None and now < current.refresh_at:
                return current.value  # another thread refreshed while we waited
            valid = current is not None and now < current.expires_at
            if self._fetches != seen and self._failure is not None:
                # The fetch we waited for failed: share its outcome rather than repeat it.
                if current is not None and valid:
                    return current.value
                raise self._failure.copy()
            if current is not None and valid and now < self._retry_at:
                return current.value
            try:
                self._token = self._fetch(now)
                self._failure = None
                return self._token.value
            except TokenError as error:
                # A copy without the traceback or the chained cause: their frames hold the
                # request with the secret (and would keep it alive in a reference cycle).
                failure = self._failure = error.copy()
                self._retry_at = now + self.refresh_retry_interval
            finally:
                self._fetches += 1
            if current is not None and valid:
                logger.warning(
                    "Refreshing the access token of client %s failed (%s); using the current "
                    "one, valid for %d more seconds.",
                    self.client_id, str(failure), current.expires_at - now)
                return current.value
            logger.warning("Fetching an access token for client %s failed: %s",
                           self.client_id, str(failure))
        raise failure.copy()  # outside the except block, so without a __context__ either

    def cached_token(self) -> str | None:
        """The cached token while it needs no refresh, else None. Never makes a request."""
        current = self._token
        if current is not None and self._clock() < current.refresh_at:
            return current.value
        return None

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token, so the next ``get_token()`` fetches a new one.

        With ``token``, only if that is still the cached one: a caller whose token an API
        rejected does not throw away a newer token another thread already fetched.
        """
        with self._lock:
            if self._token is not None and token in (None, self._token.value):
                self._token = None

    def _fetch(self, now: float) -> _Token:
        """POST the client credentials grant and read the token response (RFC 6749 §4.4.3)."""
        params = {"grant_type": "client_credentials"}
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "Accept": "application/json",
                   "User-Agent": f"django-oauth-cc-client/{__version__}"}
        if self.auth_method == "client_secret_basic":
            pair = f"{quote_plus(self.client_id)}:{quote_plus(self._client_secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            params.update(client_id=self.client_id, client_secret=self._client_secret)
        if self.scope:
            params["scope"] = self.scope
        if self.expires_in is not None:
            params["expires_in"] = str(self.expires_in)
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.token_url, data=urlencode(params).encode(), headers=headers, method="POST")
        status, body = self._send(request)
        document = self._json(body, status)
        if status != 200:
            error = document.get("error")
            if not isinstance(error, str) or not _ERROR_CODE.fullmatch(error):
                raise TokenError("invalid_response", "The token endpoint answered HTTP "
                                 f"{status} without an OAuth error.", status)
            error = self._redact(error)
            description = document.get("error_description")
            raise TokenError(error, self._redact(description)
                             if isinstance(description, str) else None, status)
        return self._token_from(document, now)

    def _send(self, request: urllib.request.Request) -> tuple[int, bytes]:
        # The socket timeout bounds each read; the deadline bounds the whole body, which a
        # server sending a byte at a time could otherwise stretch a thousandfold.
        deadline = time.monotonic() + self.timeout
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return response.status, self._read(response, deadline)
        except urllib.error.HTTPError as error:
            try:
                return error.code, self._read(error, deadline)
            except TimeoutError:
                raise self._timed_out() from None
            except (OSError, http.client.HTTPException):
                return error.code, b""
            finally:
                error.close()
        except TimeoutError as e:
            raise self._timed_out() from e
        except urllib.error.URLError as e:
            reason = "timed out" if isinstance(e.reason, TimeoutError) else e.reason
            raise TokenError("network_error",
                             f"Could not reach the token endpoint: {reason}") from e
        except (OSError, http.client.HTTPException) as e:
            raise TokenError("network_error",
                             f"The connection to the token endpoint failed: {e!r}") from e

    def _timed_out(self) -> TokenError:
        return TokenError("network_error", "The token endpoint did not answer within "
                          f"{self.timeout} seconds.")

    def _read(self, response: Any, deadline: float) -> bytes:
        """The body, at most ``MAX_RESPONSE_BYTES + 1`` of it, read before ``deadline``."""
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_RESPONSE_BYTES:
            if time.monotonic() > deadline:
                raise TimeoutError
            chunk = response.read1(MAX_RESPONSE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)

    def _json(self, body: bytes, status: int) -> dict[str, Any]:
        if len(body) > MAX_RESPONSE_BYTES:
            raise TokenError("invalid_response", "The token endpoint's answer is too large.",
                             status)
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            document = None
        if not isinstance(document, dict):
            raise TokenError("invalid_response", f"The token endpoint answered HTTP {status} "
                             "with something other than a JSON object.", status)
        return document

    def _token_from(self, document: dict[str, Any], now: float) -> _Token:
        value, token_type = document.get("access_token"), document.get("token_type")
        expires_in = document.get("expires_in")
        if isinstance(expires_in, str) and expires_in.isascii() and expires_in.isdigit() \
                and len(expires_in) <= 12:
            expires_in = int(expires_in)
        problem = (
            "has no access_token" if not isinstance(value, str) or not value else
            "has an access_token that cannot be sent as a Bearer token"
            if not _B64TOKEN.fullmatch(value) else
            "is not for a Bearer token" if not isinstance(token_type, str)
            or token_type.lower() != "bearer" else
            "has no positive expires_in" if isinstance(expires_in, bool)
            or not isinstance(expires_in, int | float) or not 0 < expires_in < math.inf
            else None)
        if problem is not None:
            raise TokenError("invalid_response", f"The token response {problem}.", 200)
        assert isinstance(value, str) and isinstance(expires_in, int | float)
        # Counted from before the request was sent, so never later than the server's expiry.
        expires_at = now + expires_in
        margin = min(self.refresh_margin, expires_in / 2)
        logger.debug("Fetched an access token for client %s, valid for %s seconds.",
                     self.client_id, expires_in)
        return _Token(value, expires_at, expires_at - margin)

    def _redact(self, text: str) -> str:
        """``text`` without the secret in any form the request carried it: as it is,
        form-encoded, or inside the Basic credentials."""
        pair = f"{quote_plus(self.client_id)}:{quote_plus(self._client_secret)}"
        forms = {self._client_secret, quote_plus(self._client_secret),
                 base64.b64encode(pair.encode()).decode()}
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, REDACTED)
        return text
