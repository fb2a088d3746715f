"""Fetching a JWK Set (RFC 7517 §5) over HTTP: the one fetcher for every JWKS URL we read.

Remote mode (``JWKS_URL``) uses it, and so do clients that register a ``jwks_uri``
(``client_keys``). It reads no settings: the caller passes the URL, the timeout, the size
bound and any address policy. The server at the URL may be slow, broken or hostile, hence:

- ``timeout`` bounds the whole exchange: name resolution, connecting, the TLS handshake, the
  status line and headers, and the body. A socket timeout alone bounds each read, and a server
  sending a byte per interval could hold the fetch for as long as it liked.
- A redirect is not followed; any answer but ``200`` fails the fetch. The URL is where the keys
  were configured or registered to live, and a redirect could point anywhere.
- The body is at most ``max_bytes``; only public signing keys are returned.
- ``allow_address``, if given, is asked about each address the host resolves to, before
  connecting (``deadline_http``): a URL chosen by someone else (a client's ``jwks_uri``) must
  not reach the server's own network. None for a URL the operator configured (``JWKS_URL``).

``http.client`` through ``deadline_http``, rather than ``urllib``, which follows redirects.
Proxies named in the environment (``HTTPS_PROXY``) are therefore not used.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from oauth_cc.deadline_http import (
    AddressNotAllowed,
    AddressPolicy,
    DeadlineHTTPConnection,
    DeadlineHTTPSConnection,
)
from oauth_cc.exceptions import SigningKeyError
from oauth_cc.keys import PRIVATE_JWK_MEMBERS, load_public_key

if TYPE_CHECKING:

    from oauth_cc.keys import PublicKey

logger = logging.getLogger("oauth_cc")

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?", re.IGNORECASE)
# RFC 9111 §1.2.2: a delta-seconds too large to represent counts as 2^31.
_MAX_DELTA_SECONDS = 2**31


class JWKSFetchError(Exception):
    """The JWK Set could not be fetched, or what came is not one. The message says why."""


@dataclass(frozen=True)
class PublicJWK:
    """A public signing key of a JWK Set, with its ``kid`` and ``alg`` if it names them."""

    kid: str | None
    alg: str | None  # as the JWK says (RFC 7517 §4.4); not checked against the key's type
    key: PublicKey


@dataclass(frozen=True)
class FetchedJWKS:
    """The usable keys of a fetched JWK Set (perhaps none) and how long it may be cached."""

    keys: tuple[PublicJWK, ...]
    # Cache-Control max-age in seconds: 0 for no-store or no-cache, None if the server said none.
    max_age: int | None


def fetch_jwks(url: str, *, timeout: float, max_bytes: int,
               allow_address: AddressPolicy | None = None) -> FetchedJWKS:
    """GET the JWK Set at ``url`` (http or https) within ``timeout`` seconds in all,
    connecting only to an address ``allow_address`` allows (if given).

    Returns its public signing keys (see ``public_keys`` for those left out) and its max-age.
    Raises ``JWKSFetchError`` if the URL is not an http(s) URL without credentials, the policy
    refuses every address of its host, the exchange fails or overruns ``timeout``, the answer
    is not ``200`` (a redirect included), the body exceeds ``max_bytes``, or it is not a JWK
    Set.
    """
    cache_control, body = _get(url, timeout, max_bytes, allow_address)
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as e:  # RecursionError: JSON nested too deep
        raise JWKSFetchError(f"The JWK Set at {url} is not JSON.") from e
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JWKSFetchError(f"The document at {url} is not a JWK Set.")
    return FetchedJWKS(public_keys(document["keys"], url), max_age(cache_control))


def public_keys(entries: list[Any], url: str) -> tuple[PublicJWK, ...]:
    """The keys among a JWK Set's ``entries`` that can verify signatures.

    Left out: entries that are not objects, keys meant for another use (RFC 7517 §4.2, §4.3),
    keys with a private or symmetric member (published, they are leaked: never trusted), and
    keys that do not load (an unknown type or curve, bad members).
    """
    found = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        operations = entry.get("key_ops")
        if operations is not None and (not isinstance(operations, list)
                                       or "verify" not in operations):
            continue
        kid, alg = entry.get("kid"), entry.get("alg")
        if PRIVATE_JWK_MEMBERS & entry.keys():
            logger.warning("The JWK Set at %s publishes a private or symmetric key (kid %r); "
                           "it is not used.", url, kid)
            continue
        try:
            key = load_public_key(entry)
        except SigningKeyError:
            logger.warning("Skipping an unusable key (kid %r) in the JWK Set at %s.", kid, url)
            continue
        found.append(PublicJWK(kid if isinstance(kid, str) else None,
                               alg if isinstance(alg, str) else None, key))
    return tuple(found)


def max_age(cache_control: str) -> int | None:
    """The ``max-age`` of a Cache-Control header in seconds; 0 for no-store or no-cache."""
    lowered = cache_control.lower()
    if "no-store" in lowered or "no-cache" in lowered:
        return 0
    match = _MAX_AGE.search(cache_control)
    if match is None:
        return None
    digits = match.group(1)  # int() refuses more than 4,300 digits: no need to get that far
    return min(int(digits), _MAX_DELTA_SECONDS) if len(digits) <= 10 else _MAX_DELTA_SECONDS


def _get(url: str, timeout: float, max_bytes: int,
         allow_address: AddressPolicy | None) -> tuple[str, bytes]:
    """GET ``url``: ``(Cache-Control header, body)`` of a ``200``. Raises ``JWKSFetchError``."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:  # checked first: not logged
        raise JWKSFetchError("A JWKS URL must not carry credentials.")
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise JWKSFetchError(f"The JWKS URL {url!r} is not an http(s) URL.")
    try:
        port = parts.port
    except ValueError as e:
        raise JWKSFetchError(f"The JWKS URL {url!r} has an invalid port.") from e
    target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    headers = {"Host": parts.netloc, "Accept": "application/jwk-set+json, application/json",
               "User-Agent": "django-oauth-cc", "Connection": "close"}
    try:
        opened = (DeadlineHTTPSConnection if scheme == "https" else DeadlineHTTPConnection)(
            parts.hostname, port, timeout, allow_address=allow_address)
        with contextlib.closing(opened) as connection:
            connection.request("GET", target, headers=headers)
            # The response owns the socket once it knows the connection ends with it.
            with connection.getresponse() as response:
                if 300 <= response.status < 400:
                    location = response.getheader("Location", "")
                    raise JWKSFetchError(f"{url} answered HTTP {response.status}, a redirect "
                                         f"to {location[:200]!r}; redirects are not followed.")
                if response.status != 200:
                    raise JWKSFetchError(f"{url} answered HTTP {response.status}.")
                body = _read_body(response, url, max_bytes)
                return response.getheader("Cache-Control", ""), body
    except TimeoutError as e:
        raise JWKSFetchError(f"Fetching {url} took more than {timeout} s.") from e
    except AddressNotAllowed as e:
        raise JWKSFetchError(f"Fetching {url} was refused: {e}") from e
    except (OSError, http.client.HTTPException, UnicodeError) as e:
        # HTTPException: a bad status line, a truncated body, an over-long header line.
        # UnicodeError: a host name IDNA cannot encode.
        raise JWKSFetchError(f"Fetching {url} failed: {e!r}") from e


def _read_body(response: http.client.HTTPResponse, url: str, max_bytes: int) -> bytes:
    """The whole body, if it is at most ``max_bytes``. Raises ``JWKSFetchError``."""
    too_large = JWKSFetchError(f"The JWK Set at {url} is larger than {max_bytes} bytes.")
    if response.length is not None and response.length > max_bytes:
        raise too_large  # as its Content-Length says: no need to read it
    body = response.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise too_large
    if response.length:  # http.client returns a short read when the connection ends early
        raise JWKSFetchError(f"The JWK Set at {url} ended before its Content-Length.")
    return body
