"""``TokenClient``: get, cache and refresh an access token by the client credentials grant.

Standard library only, and no Django: API consumers install the package for this alone. (A
client that authenticates with a private key, or uses DPoP, also uses PyJWT and cryptography,
imported from ``oauth_cc.client.private_key`` or ``oauth_cc.client.dpop`` only then.)
"""

from __future__ import annotations

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
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from oauth_cc import __version__
from oauth_cc.client.secret import Secret, basic_credentials, clear_frames, redact
from oauth_cc.client.transport import build_opener, url_problem

if TYPE_CHECKING:
    from oauth_cc.client.dpop import ProofKey
    from oauth_cc.client.private_key import AssertionSigner

logger = logging.getLogger("oauth_cc.client")

AUTH_METHODS = ("client_secret_basic", "client_secret_post")
#: RFC 7523 §2.2: a JWT signed with the client's private key instead of a secret.
PRIVATE_KEY_JWT = "private_key_jwt"
MAX_RESPONSE_BYTES = 65_536
#: The longest a token is believed to live, in seconds, whatever ``expires_in`` the server sends:
#: believing 1e308, the client would never refresh.
MAX_TOKEN_LIFETIME = 86_400
# RFC 6749 §5.2: an error code is 1*( %x20-21 / %x23-5B / %x5D-7E ); ours are far shorter.
_ERROR_CODE = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}")
# RFC 6750 §2.1 (and RFC 9449 §7.1, the same syntax): what an Authorization header can carry.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# A server's error_description goes into the exception and the log: one line of bounded
# length, without line breaks and other control characters (they would forge log lines) or
# lone surrogates (a UTF-8 log handler fails on them).
_NOT_IN_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
MAX_DESCRIPTION = 512


class TokenError(Exception):
    """No access token could be had.

    ``error`` is the token endpoint's RFC 6749 §5.2 code (``invalid_client``, ``invalid_scope``,
    ...), or one of the client's own: ``network_error`` (no connection, a timeout) and
    ``invalid_response`` (an answer that is not a token response or a JSON error).
    ``error_description`` says more; ``status`` is the HTTP status, None when there was none.
    Neither ever holds the client secret or the private key.
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


class TokenClient:
    """Hands out one cached access token per client, fetching a new one shortly before expiry.

    ``get_token()`` returns the cached token until ``refresh_margin`` seconds before it expires
    (or half its lifetime, for a token that lives less than twice the margin), then fetches
    a new one from ``token_url`` (RFC 6749 §4.4). It is thread-safe, and makes one fetch at a
    time: while it is under way, callers whose token is still valid get it at once, and those
    without one wait for the fetch (``timeout`` seconds at most) and share its outcome.

    A refresh that fails while the current token is still valid logs a warning and returns
    the current token; the next attempt is made after ``refresh_retry_interval`` seconds. With
    no valid token, a failure raises ``TokenError``. A token is believed for
    ``MAX_TOKEN_LIFETIME`` (one day) at most, whatever ``expires_in`` the server answers.

    ``token_url`` must be https, or http to a loopback host (127.0.0.0/8, ::1, localhost), in
    ASCII (an IDNA host in its xn-- form). The client authenticates with exactly one of
    ``client_secret`` and ``private_key``. With a secret, ``auth_method`` is
    ``client_secret_basic`` (HTTP Basic, id and secret form-urlencoded first as RFC 6749
    §2.3.1 says) or ``client_secret_post`` (both in the body).

    With ``private_key`` (PEM text or bytes, unencrypted, or a ``cryptography`` private key
    object: RSA of 2048 bits or more, EC P-256 or Ed25519) the client is ``private_key_jwt``
    (RFC 7523 §2.2; ``auth_method`` may be left as it is or say ``private_key_jwt``): each
    token request carries a new assertion signed with the key (RS256, ES256 or EdDSA, from the
    key's type), with ``iss`` = ``sub`` = ``client_id``, ``aud`` = ``token_url``, a lifetime
    of 60 seconds and a random ``jti``, in the body as ``client_assertion`` with its
    ``client_assertion_type`` and the ``client_id``; ``key_id`` is sent as its ``kid`` header.
    The server must hold the key's public half (see ``private_key.public_jwk_set``).

    With ``dpop=True`` the client's tokens are DPoP-bound (RFC 9449): it makes a P-256 key once,
    keeps it in memory for its life (never shown), sends a fresh proof of it with each token
    request, and refuses (``invalid_response``) a token response whose ``token_type`` is not
    ``DPoP`` (RFC 9449 §5: a server that ignored the proof issued a plain bearer token). Such
    a token is sent as ``Authorization: DPoP <token>`` with a proof from ``dpop_proof()`` per
    request, which the adapters do. ``token_type`` says which scheme the tokens go with.

    ``scope`` (a space-separated string or an
    iterable of names) and ``expires_in`` are sent when given. ``timeout`` bounds the whole
    exchange with the token endpoint, in seconds: connecting, sending, and reading the status
    line, headers and body (name resolution aside, which the standard library cannot bound).
    ``clock`` measures the token's lifetime in seconds: monotonic by default, so that the wall
    clock stepping back cannot keep an expired token in use (tests pass a frozen one).

    Bad arguments raise ``ValueError``; no exception from the client shows the secret or the
    private key, in its text or in the variables of its traceback's frames.
    """

    #: Seconds to wait after a failed refresh before trying again, while the token is valid.
    refresh_retry_interval = 5.0

    def __init__(self, token_url: str, client_id: str, client_secret: str | None = None,
                 scope: str | Iterable[str] | None = None, expires_in: int | None = None,
                 refresh_margin: float = 60, auth_method: str = "client_secret_basic",
                 timeout: float = 10, *, private_key: object = None, key_id: str | None = None,
                 dpop: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        # Out of this frame's variables before anything can raise: error reports show the
        # variables of every frame a traceback passes through, this one included.
        secret = Secret(client_secret)
        held_key = Secret(private_key)
        del client_secret, private_key
        if (secret.value is None) == (held_key.value is None):
            raise ValueError("Give exactly one of client_secret and private_key.")
        if secret.value is not None and (not _sendable(client_id)
                                         or not _sendable(secret.value)):
            raise ValueError("client_id and client_secret are required, as printable text.")
        if not _sendable(client_id):
            raise ValueError("client_id is required, as printable text.")
        problem = url_problem(token_url)
        if problem is not None:
            # Redacted before repr(), whose escapes could hide the secret from redaction.
            shown = _redacted(token_url, client_id, secret.value) if isinstance(
                token_url, str) else token_url
            raise ValueError(_redacted(f"token_url {shown!r} {problem}.", client_id,
                                       secret.value))
        signer: AssertionSigner | None = None
        if held_key.value is not None:
            if auth_method not in (AUTH_METHODS[0], PRIVATE_KEY_JWT):  # the default, or said
                raise ValueError(f"auth_method must be {PRIVATE_KEY_JWT} with a private_key, "
                                 f"not {auth_method!r}.")
            auth_method = PRIVATE_KEY_JWT
            from oauth_cc.client.private_key import AssertionSigner

            signer = AssertionSigner.load(held_key.value, key_id)
        elif auth_method == PRIVATE_KEY_JWT:
            raise ValueError(f"auth_method {PRIVATE_KEY_JWT} needs a private_key, not a "
                             "client_secret.")
        elif auth_method not in AUTH_METHODS:
            raise ValueError(f"auth_method must be one of {', '.join(AUTH_METHODS)}, "
                             f"not {auth_method!r}.")
        elif key_id is not None:
            raise ValueError("key_id goes with a private_key, not a client_secret.")
        if expires_in is not None and (type(expires_in) is not int or expires_in < 1):
            raise ValueError("expires_in must be a positive whole number of seconds.")
        if not _seconds(refresh_margin):
            raise ValueError("refresh_margin must be a number of seconds from 0 to 86400.")
        if not _seconds(timeout) or timeout == 0:
            raise ValueError("timeout must be a number of seconds above 0, at most 86400.")
        if not isinstance(dpop, bool):
            raise ValueError("dpop must be True or False.")
        proof_key: ProofKey | None = None
        if dpop:
            from oauth_cc.client.dpop import ProofKey

            proof_key = ProofKey()
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret: Secret[str | None] = secret
        self._signer = signer
        self._proof_key = proof_key
        #: The ``Authorization`` scheme (and expected ``token_type``) of this client's tokens.
        self.token_type = "DPoP" if dpop else "Bearer"
        self.scope = scope if scope is None or isinstance(scope, str) else " ".join(scope)
        self.expires_in = expires_in
        self.refresh_margin = refresh_margin
        self.auth_method = auth_method
        self.timeout = timeout
        self._clock = clock
        self._opener = build_opener()
        # One fetch at a time; and a short lock for changing the cached token, so that neither
        # invalidate() nor a caller holding a valid token ever waits for the network.
        self._fetching = threading.Lock()
        self._updating = threading.Lock()
        self._token: _Token | None = None
        self._fetches = 0  # completed fetches, so waiting callers can tell one happened
        self._failure: TokenError | None = None
        self._retry_at = 0.0

    def __repr__(self) -> str:
        return (f"TokenClient(token_url={self.token_url!r}, client_id={self.client_id!r}, "
                f"scope={self.scope!r}, auth_method={self.auth_method!r}"
                + (", dpop=True)" if self._proof_key is not None else ")"))

    @property
    def dpop_jkt(self) -> str | None:
        """The RFC 7638 thumbprint of the DPoP key (what tokens are bound to: ``cnf.jkt``), or
        None for a client without DPoP."""
        return None if self._proof_key is None else self._proof_key.jkt

    def dpop_proof(self, method: str, url: str, access_token: str) -> str:
        """A fresh DPoP proof (RFC 9449 §4.2, §7.1) to send as the ``DPoP`` header with a
        ``method`` request to ``url`` carrying ``Authorization: DPoP <access_token>``: ``htu``
        is ``url`` without query and fragment, ``ath`` the token's hash, ``jti`` new. Raises
        ``ValueError`` for a client made without ``dpop=True``."""
        if self._proof_key is None:
            raise ValueError("This TokenClient does not use DPoP: make it with dpop=True.")
        return self._proof_key.proof(method, url, access_token)

    def authorization(self, token: str) -> str:
        """The ``Authorization`` header's value for ``token``: ``Bearer <token>``, or
        ``DPoP <token>`` for a client with ``dpop=True``."""
        return f"{self.token_type} {token}"

    def get_token(self) -> str:
        """The access token to send as ``Authorization: Bearer <token>`` (``DPoP <token>``,
        with a proof, for a client with ``dpop=True``).

        A valid token is returned at once, even inside the refresh margin while another thread
        refreshes it. A caller without one makes the fetch, or waits (``timeout`` seconds at
        most) for the one under way and shares its outcome. Raises ``TokenError`` when there
        is no valid token and none can be fetched.
        """
        now = self._clock()
        current = self._token
        if current is not None and now < current.refresh_at:
            return current.value
        usable = current if current is not None and now < current.expires_at else None
        if usable is not None and now < self._retry_at:
            return usable.value  # a refresh failed a moment ago: not again yet
        seen = self._fetches
        if usable is not None:
            # Inside the refresh margin: one caller refreshes, the others go on with the
            # valid token rather than queue behind the network.
            if not self._fetching.acquire(blocking=False):
                return usable.value
        elif not self._fetching.acquire(timeout=self.timeout):
            raise self._timed_out()  # the fetch under way is stuck (in name resolution?)
        try:
            return self._refresh(seen)
        finally:
            self._fetching.release()

    def cached_token(self) -> str | None:
        """The cached token while it needs no refresh, else None. Never makes a request."""
        current = self._token
        if current is not None and self._clock() < current.refresh_at:
            return current.value
        return None

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token, so the next ``get_token()`` fetches a new one.

        With ``token``, only if that is still the cached one: a caller whose token an API
        rejected does not throw away a newer token another thread already fetched. Never
        waits for a fetch under way (whose new token is kept).
        """
        with self._updating:
            if self._token is not None and token in (None, self._token.value):
                self._token = None

    def _refresh(self, seen: int) -> str:
        """``get_token()`` holding ``_fetching``: fetch a token, unless a fetch that ended while
        this caller waited has an outcome to share (``seen`` is the count of fetches before)."""
        now = self._clock()
        current = self._token
        if current is not None and now < current.refresh_at:
            return current.value  # another thread refreshed while we waited
        usable = current if current is not None and now < current.expires_at else None
        if self._fetches != seen and self._failure is not None:
            # The fetch we waited for failed: share its outcome rather than repeat it.
            if usable is not None:
                return usable.value
            raise self._failure.copy()
        if usable is not None and now < self._retry_at:
            return usable.value
        self._failure = None  # this fetch's outcome is the one to share from now on
        try:
            token = self._fetch(now)
        except TokenError as error:
            # A copy without the traceback or the chained cause: their frames hold the request
            # with the secret (and would keep it alive in a reference cycle).
            failure = self._failure = error.copy()
            self._retry_at = now + self.refresh_retry_interval
        except BaseException as error:
            # Unforeseen (a bug?): it goes on with its traceback for debugging, but with the
            # variables of the frames it came through cleared: they held the secret.
            clear_frames(error)
            raise
        else:
            with self._updating:
                self._token = token
            return token.value
        finally:
            self._fetches += 1
        if usable is not None:
            logger.warning(
                "Refreshing the access token of client %s failed (%s); using the current "
                "one, valid for %d more seconds.",
                self.client_id, str(failure), usable.expires_at - now)
            return usable.value
        logger.warning("Fetching an access token for client %s failed: %s",
                       self.client_id, str(failure))
        raise failure.copy()  # outside the except block, so without a __context__ either

    def _fetch(self, now: float) -> _Token:
        """POST the client credentials grant and read the token response (RFC 6749 §4.4.3)."""
        params = {"grant_type": "client_credentials"}
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "Accept": "application/json",
                   "User-Agent": f"django-oauth-cc-client/{__version__}"}
        # What authenticates this request: texts from the server are redacted of it.
        credential = self._client_secret.value
        if self._signer is not None:
            from oauth_cc.client.private_key import ASSERTION_TYPE

            # A new assertion each time: the server accepts each jti once (RFC 7523 §3).
            credential = self._signer.assertion(self.client_id, self.token_url)
            params.update(client_id=self.client_id, client_assertion_type=ASSERTION_TYPE,
                          client_assertion=credential)
        elif self.auth_method == "client_secret_basic":
            assert credential is not None
            headers["Authorization"] = "Basic " + basic_credentials(self.client_id, credential)
        else:
            assert credential is not None
            params.update(client_id=self.client_id, client_secret=credential)
        if self._proof_key is not None:
            # RFC 9449 §5: the proof that binds the token; htu is the endpoint's URL.
            headers["DPoP"] = self._proof_key.proof("POST", self.token_url)
        if self.scope:
            params["scope"] = self.scope
        if self.expires_in is not None:
            params["expires_in"] = str(self.expires_in)
        request = urllib.request.Request(  # noqa: S310 - the URL is checked in __init__
            self.token_url, data=urlencode(params).encode(), headers=headers, method="POST")
        status, body = self._send(request)
        document = self._json(body, status)
        if status != 200:
            error = document.get("error")
            if not isinstance(error, str) or not _ERROR_CODE.fullmatch(error):
                raise TokenError("invalid_response", "The token endpoint answered HTTP "
                                 f"{status} without an OAuth error.", status)
            error = _redacted(error, self.client_id, credential)
            description = document.get("error_description")
            raise TokenError(error, self._description(description, credential)
                             if isinstance(description, str) else None, status)
        return self._token_from(document, now)

    def _send(self, request: urllib.request.Request) -> tuple[int, bytes]:
        """The status and the body (``MAX_RESPONSE_BYTES + 1`` of it at most), all within
        ``timeout``: the opener's connections bound the whole exchange (see ``transport``)."""
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return response.status, response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as error:
            try:
                return error.code, error.read(MAX_RESPONSE_BYTES + 1)
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
        except http.client.HTTPException as e:
            # Only its kind: its text is what the server sent (a status line that echoes the
            # request would hold the secret).
            raise TokenError("network_error", "The token endpoint's answer is not valid HTTP "
                             f"({type(e).__name__}).") from e
        except OSError as e:
            raise TokenError("network_error", "The connection to the token endpoint failed: "
                             f"{e.strerror or type(e).__name__}") from e

    def _timed_out(self) -> TokenError:
        return TokenError("network_error", "The token endpoint did not answer within "
                          f"{self.timeout} seconds.")

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
            f"has an access_token that cannot be sent as a {self.token_type} token"
            if not _B64TOKEN.fullmatch(value) else
            _token_type_problem(token_type, self.token_type) if not isinstance(token_type, str)
            or token_type.lower() != self.token_type.lower() else
            "has no positive expires_in" if isinstance(expires_in, bool)
            or not isinstance(expires_in, int | float) or not 0 < expires_in < math.inf
            else None)
        if problem is not None:
            raise TokenError("invalid_response", f"The token response {problem}.", 200)
        assert isinstance(value, str) and isinstance(expires_in, int | float)
        # Counted from before the request was sent, so never later than the server's expiry.
        lifetime = min(expires_in, MAX_TOKEN_LIFETIME)
        expires_at = now + lifetime
        margin = min(self.refresh_margin, lifetime / 2)
        logger.debug("Fetched an access token for client %s, valid for %s seconds.",
                     self.client_id, lifetime)
        return _Token(value, expires_at, expires_at - margin)

    def _description(self, text: str, credential: str | None) -> str:
        # Redacted before it is cut, so that no cut leaves part of the secret behind.
        text = _NOT_IN_ONE_LINE.sub(" ", _redacted(text, self.client_id, credential))
        return text if len(text) <= MAX_DESCRIPTION else text[:MAX_DESCRIPTION] + "…"


def _token_type_problem(answered: object, expected: str) -> str:
    if expected == "DPoP" and isinstance(answered, str) and answered.lower() == "bearer":
        # RFC 9449 §5: the client must check; such a token works without the key, for anyone.
        return ("is for a Bearer token, not a DPoP-bound one: the server ignored the DPoP "
                "proof (does it support DPoP, RFC 9449?)")
    return f"is not for a {expected} token"


def _redacted(text: str, client_id: str, credential: str | None) -> str:
    """``text`` without ``credential`` (the secret, or the assertion sent) in any form."""
    return text if credential is None else redact(text, client_id, credential)


def _sendable(text: object) -> bool:
    # Not printable: control characters, and lone surrogates, which cannot even be encoded.
    return isinstance(text, str) and text != "" and text.isprintable()


def _seconds(value: object) -> bool:
    """Whether ``value`` is a number of seconds from 0 to a day (not NaN): more is surely a
    mistake, and past ~292 years socket and lock timeouts overflow inside ``get_token()``."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and 0 <= value <= 86_400)
