"""Fetching a JWK Set (RFC 7517 §5) over HTTP: the one fetcher for every JWKS URL we read.

Remote mode (``JWKS_URL``) uses it, and so will clients that register a ``jwks_uri``. It reads
no settings: the caller passes the URL, the timeout and the size bound. The server at the URL
may be slow, broken or hostile, hence:

- ``timeout`` bounds the whole exchange: name resolution, connecting, the TLS handshake, the
  status line and headers, and the body. A socket timeout alone bounds each read, and a server
  sending a byte per interval could hold the fetch for as long as it liked.
- A redirect is not followed; any answer but ``200`` fails the fetch. The URL is where the keys
  were configured or registered to live, and a redirect could point anywhere.
- The body is at most ``max_bytes``; only public signing keys are returned.

Plain ``http.client`` rather than ``urllib``: urllib follows redirects and cannot bound the
exchange. Proxies named in the environment (``HTTPS_PROXY``) are therefore not used.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import logging
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit, urlunsplit

from oauth_cc.exceptions import SigningKeyError
from oauth_cc.keys import PRIVATE_JWK_MEMBERS, load_public_key

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

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


def fetch_jwks(url: str, *, timeout: float, max_bytes: int) -> FetchedJWKS:
    """GET the JWK Set at ``url`` (http or https) within ``timeout`` seconds in all.

    Returns its public signing keys (see ``public_keys`` for those left out) and its max-age.
    Raises ``JWKSFetchError`` if the URL is not an http(s) URL without credentials, the
    exchange fails or overruns ``timeout``, the answer is not ``200`` (a redirect included),
    the body exceeds ``max_bytes``, or it is not a JWK Set.
    """
    cache_control, body = _get(url, timeout, max_bytes)
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


def _get(url: str, timeout: float, max_bytes: int) -> tuple[str, bytes]:
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
    deadline = _Deadline(timeout)
    target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    headers = {"Host": parts.netloc, "Accept": "application/jwk-set+json, application/json",
               "User-Agent": "django-oauth-cc", "Connection": "close"}
    try:
        tls = ssl.create_default_context() if scheme == "https" else None
        port = port or (443 if tls else 80)
        with contextlib.closing(_Connection(parts.hostname, port, deadline, tls)) as connection:
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


class _Deadline:
    """The end of an exchange. On the real clock: oauth_cc's may be frozen by tests."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left. Raises ``TimeoutError`` when there are none."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise TimeoutError("the deadline has passed")
        return left


class _Connection(http.client.HTTPConnection):
    """An HTTP or (with ``tls``) HTTPS connection that keeps to ``deadline`` from name
    resolution to the last byte of the body."""

    def __init__(self, host: str, port: int, deadline: _Deadline,
                 tls: ssl.SSLContext | None) -> None:
        super().__init__(host, port)
        self._deadline = deadline
        self._tls = tls

    def connect(self) -> None:
        sock = _open_socket(self.host, self.port, self._deadline)
        if self._tls is not None:
            try:
                # CPython times the whole handshake against the socket's timeout.
                sock.settimeout(self._deadline.left())
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
        # http.client calls only sendall, makefile and close on its socket, as this one has.
        self.sock = cast(socket.socket, _DeadlineSocket(sock, self._deadline))


class _DeadlineSocket:
    """A connected socket whose every send and receive gets only the time left before the
    deadline, the status line, headers and body read through ``makefile`` included."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def sendall(self, data: ReadableBuffer) -> None:
        self._sock.settimeout(self._deadline.left())
        self._sock.sendall(data)

    def makefile(self, mode: str = "rb") -> io.BufferedReader:
        # On the socket's own file object: http.client closes the socket as soon as it knows
        # the connection ends with this answer, and the socket must outlive the body's reading.
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))

    def close(self) -> None:
        self._sock.close()


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        super().__init__()
        self._sock = sock
        self._file = sock.makefile("rb", buffering=0)
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int | None:
        self._sock.settimeout(self._deadline.left())
        return self._file.readinto(buffer)

    def close(self) -> None:
        self._file.close()
        super().close()


def _open_socket(host: str, port: int, deadline: _Deadline) -> socket.socket:
    """A TCP connection to ``host`` made within the deadline. Raises ``OSError``."""
    error: OSError = OSError(f"{host} has no address")
    for family, kind, protocol, _, address in _resolve(host, port, deadline):
        sock = socket.socket(family, kind, protocol)
        try:
            sock.settimeout(deadline.left())
            sock.connect(address)
            return sock
        except TimeoutError:
            sock.close()
            raise  # the deadline has passed: no time for another address
        except OSError as e:
            sock.close()
            error = e
    raise error


def _resolve(host: str, port: int, deadline: _Deadline) -> list[Any]:
    """``getaddrinfo`` for ``host``, answered within the deadline. Raises ``OSError``.

    The system resolver has its own, longer timeouts and cannot be interrupted, so the lookup
    runs in a thread of its own; one that outlives the deadline ends unheeded in its own time.
    """
    answer: list[Any] = []

    def lookup() -> None:
        try:
            answer.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except Exception as e:  # handed to the caller's thread, which raises it
            answer.append(e)

    thread = threading.Thread(target=lookup, name="oauth_cc-resolve", daemon=True)
    thread.start()
    thread.join(deadline.left())
    if not answer:
        raise TimeoutError(f"resolving {host} took too long")
    if isinstance(answer[0], Exception):
        raise answer[0]
    return cast(list[Any], answer[0])
