"""The HTTP exchange with the token endpoint: which URLs may be used, and one deadline for all.

The connections are ``oauth_cc.deadline_http``'s: ``timeout`` bounds the name lookup,
connecting, the TLS handshake, sending, and reading the status line, headers and body. (Not a
proxy's answer to ``CONNECT``, read with the time left when connecting: the proxy is the
caller's own.) urllib supplies the proxy settings from the environment.

Standard library only.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import urllib.request
from typing import Any
from urllib.parse import SplitResult, urlsplit

from oauth_cc.deadline_http import DeadlineHTTPConnection, DeadlineHTTPSConnection

# An ASCII host name (IDNA names in their xn-- form); IP literals are checked by ipaddress.
_HOST_NAME = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?")
# What a URL may hold: printable ASCII without the space.
_URL_CHARACTERS = re.compile(r"[\x21-\x7e]*")
_LOOPBACK = "127.0.0.0/8, ::1 or localhost"


def url_problem(url: object) -> str | None:
    """What makes ``url`` unusable as a token endpoint, or None: it must be an https URL (or
    http to a loopback host), in ASCII, with a host and a valid port, and no credentials or
    fragment (RFC 6749 §3.2)."""
    if not isinstance(url, str):
        return "is not a string"
    if not url.isascii():
        return ("has non-ASCII characters: write the host in its IDNA form (xn--...) and "
                "percent-encode the path")
    if not _URL_CHARACTERS.fullmatch(url):
        return "has whitespace or control characters"
    try:
        parts = urlsplit(url)
    except ValueError as error:
        # Returned: the caller raises its own error, outside this except block, unchained.
        return f"cannot be parsed ({error})"
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https"):
        return "is not an http or https URL"
    if not host:
        return "has no host"
    if parts.username is not None:
        return "has credentials in it: give them as client_id and client_secret"
    if not (_HOST_NAME.fullmatch(host) or _ip_address(host)):
        return "has an invalid host"
    if not _port_valid(parts):
        return "has an invalid port (1 to 65535)"
    if "#" in url:
        return "has a fragment (RFC 6749 §3.2 forbids it)"
    if parts.scheme == "http" and not is_loopback(host):
        # The client secret, and the token, would cross the network in clear text.
        return f"is http: only https is allowed, or http to a loopback host ({_LOOPBACK})"
    return None


def is_loopback(host: str) -> bool:
    """Whether ``host`` (as ``urlsplit`` gives it: lower case, no brackets) is this machine."""
    address = _ip_address(host)
    return host == "localhost" or (address is not None and address.is_loopback)


def _port_valid(parts: SplitResult) -> bool:
    try:
        return parts.port != 0
    except ValueError:  # not a number, or out of range
        return False


def _ip_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def build_opener() -> urllib.request.OpenerDirector:
    """An opener that never follows redirects and bounds each exchange by its ``timeout``."""
    return urllib.request.build_opener(_NoRedirects, _HTTPHandler, _HTTPSHandler)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Declines every redirect, so that a 3xx comes back as the ``HTTPError`` it is: a
    redirected POST would carry the Basic credentials (urllib keeps Authorization) to
    wherever the redirect points, and a token endpoint has no reason to redirect. Declined
    before ``Location`` is read: urllib's own handler parses it first, and a malformed one
    raised ``ValueError`` with the server's text in it."""

    def http_error_302(self, *args: Any, **kwargs: Any) -> None:
        return None

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(DeadlineHTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        # No context given: HTTPSConnection makes the default one, verifying the host.
        return self.do_open(DeadlineHTTPSConnection, req)
