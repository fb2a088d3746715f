"""The HTTP exchange with the token endpoint: which URLs may be used, and one deadline for all.

http.client gives its timeout to each socket operation, so a server that sends its answer a
byte at a time, each within the timeout, could hold a caller as long as it liked. Here one
deadline, set when the connection is created, bounds connecting (every address tried), the TLS
handshake, sending, and each read of the status line, headers and body: before each, the
socket's timeout is set to the time left. Name resolution is the one step it cannot bound: the
standard library's ``getaddrinfo`` has no timeout. (Nor does it reach a proxy's answer to
``CONNECT``, read with the time left when connecting: the proxy is the caller's own.)

Standard library only: urllib still supplies the proxy settings from the environment.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import re
import socket
import time
import urllib.request
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import SplitResult, urlsplit

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

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
    # A redirected POST would carry the Basic credentials (urllib keeps Authorization) to
    # wherever the redirect points; a token endpoint has no reason to redirect.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self._at = time.monotonic() + seconds

    def left(self) -> float:
        """The seconds left. Raises ``TimeoutError`` when there are none."""
        left = self._at - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        return left


class _Connection(http.client.HTTPConnection):
    """An ``HTTPConnection`` whose ``timeout`` bounds the whole exchange from its creation."""

    def __init__(self, host: str, port: int | None = None, timeout: float = 10,
                 **kwargs: Any) -> None:
        super().__init__(host, port, timeout=timeout, **kwargs)
        self._deadline = _Deadline(timeout)
        # http.client's own seam for making the socket (socket.create_connection by default).
        self._create_connection = self._open_socket

    def connect(self) -> None:
        super().connect()  # for HTTPS, the TLS handshake too
        # Duck-typed: once connected, http.client and urllib only send, make files and close.
        self.sock = cast(socket.socket, _DeadlineSocket(self.sock, self._deadline))

    def _open_socket(self, address: tuple[str, int], timeout: float | None = None,
                     source_address: tuple[str, int] | None = None) -> socket.socket:
        """``socket.create_connection``, but all the addresses tried share the time left
        (not each the whole timeout), and the socket keeps the rest for the TLS handshake
        (which CPython bounds as a whole by the socket's timeout)."""
        host, port = address
        failure = OSError(f"No address found for {host}.")
        for family, kind, protocol, _, socket_address in socket.getaddrinfo(
                host, port, type=socket.SOCK_STREAM):
            sock = socket.socket(family, kind, protocol)
            try:
                sock.settimeout(self._deadline.left())
                if source_address:
                    sock.bind(source_address)
                sock.connect(socket_address)
                sock.settimeout(self._deadline.left())
                return sock
            except OSError as error:
                sock.close()
                failure = error
        raise failure


class _HTTPSConnection(_Connection, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_Connection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        # No context given: HTTPSConnection makes the default one, verifying the host.
        return self.do_open(_HTTPSConnection, req)


class _DeadlineSocket:
    """A connected socket (plain or TLS) whose every send and read gets only the time left."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def sendall(self, data: ReadableBuffer) -> None:
        view = memoryview(data).cast("B")
        while view:
            self._sock.settimeout(self._deadline.left())
            view = view[self._sock.send(view):]

    def makefile(self, mode: str = "rb") -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))

    def close(self) -> None:
        self._sock.close()


class _DeadlineReader(io.RawIOBase):
    """The socket's reads, each given only the time left (under http.client's buffer)."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline
        # The socket's own file keeps it open after urllib closes the connection, once the
        # headers are read, as the file http.client would have made does.
        self._file = sock.makefile("rb", buffering=0)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int | None:
        self._sock.settimeout(self._deadline.left())
        return self._file.readinto(buffer)

    def close(self) -> None:
        self._file.close()
        super().close()
