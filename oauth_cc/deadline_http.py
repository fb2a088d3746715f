"""HTTP connections whose ``timeout`` bounds the whole exchange, not each socket operation.

http.client gives its timeout to each socket operation, so a server that sends its answer a
byte at a time, each within the timeout, could hold a caller as long as it liked. Here one
deadline, set when the connection is created, bounds name resolution, connecting (every
address tried), the TLS handshake, sending, and each read of the status line, headers and
body: before each, the socket's timeout is set to the time left.

A connection may also be given an address policy (``allow_address``), checked on each
address the name resolves to just before connecting to it: a caller that fetches URLs chosen
by others (clients' ``jwks_uri``s) refuses internal addresses there, after resolution, so a
name that resolves to one (or to another one on each lookup: DNS rebinding) gains nothing.

The one implementation for every exchange oauth_cc starts: the consumer client's token
requests (``client.transport``, through urllib) and JWK Set fetches (``jwks_fetch``).
Standard library only, and no Django: ``oauth_cc.client`` imports it.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias, cast

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
# Whether a connection may be made to an address (as resolved, before connecting).
AddressPolicy: TypeAlias = Callable[[IPAddress], bool]


class AddressNotAllowed(OSError):
    """Every address the host resolves to was refused by the connection's address policy.
    The message names the host, never the addresses: it may reach whoever chose the host."""


class Deadline:
    """The end of an exchange, on the real monotonic clock (oauth_cc's may be frozen)."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def left(self) -> float:
        """The seconds left. Raises ``TimeoutError`` when there are none."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        return left


class DeadlineHTTPConnection(http.client.HTTPConnection):
    """An ``HTTPConnection`` whose ``timeout`` bounds the whole exchange from its creation."""

    def __init__(self, host: str, port: int | None = None, timeout: float = 10, *,
                 allow_address: AddressPolicy | None = None, **kwargs: Any) -> None:
        """``allow_address``: connect only to resolved addresses it returns True for (any
        address without one)."""
        super().__init__(host, port, timeout=timeout, **kwargs)
        self._deadline = Deadline(timeout)
        self._allow_address = allow_address
        # http.client's own seam for making the socket (socket.create_connection by default).
        self._create_connection = self._open_socket

    def connect(self) -> None:
        super().connect()  # for HTTPS, the TLS handshake too
        # Duck-typed: once connected, http.client and urllib only send, make files and close.
        self.sock = cast(socket.socket, _DeadlineSocket(self.sock, self._deadline))

    def _open_socket(self, address: tuple[str, int], timeout: float | None = None,
                     source_address: tuple[str, int] | None = None) -> socket.socket:
        """``socket.create_connection`` within the deadline: the name lookup, and every
        address tried, share the time left (not each the whole timeout), and the socket keeps
        the rest for the TLS handshake (which CPython bounds as a whole by its timeout).
        Addresses the policy refuses are skipped, never connected to. Raises the last
        address's ``OSError``; ``AddressNotAllowed`` if no address was left to try."""
        host, port = address
        failure: OSError | None = None
        refused = False
        for family, kind, protocol, _, socket_address in _resolve(host, port, self._deadline):
            if not self._allowed(socket_address[0]):
                refused = True
                continue
            sock = socket.socket(family, kind, protocol)
            try:
                sock.settimeout(self._deadline.left())
                if source_address:
                    sock.bind(source_address)
                sock.connect(socket_address)
                sock.settimeout(self._deadline.left())
                return sock
            except TimeoutError:
                sock.close()
                raise  # the deadline has passed: no time for another address
            except OSError as error:
                sock.close()
                failure = error
        if failure is not None:
            raise failure
        if refused:
            raise AddressNotAllowed(f"{host} resolves only to addresses that are not allowed.")
        raise OSError(f"No address found for {host}.")

    def _allowed(self, address: str) -> bool:
        """Whether the policy allows the resolved ``address`` (text, perhaps with an IPv6
        scope); any address if there is no policy."""
        if self._allow_address is None:
            return True
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:  # not an IP address: nothing a policy could have meant to allow
            return False
        return self._allow_address(parsed)


class DeadlineHTTPSConnection(DeadlineHTTPConnection, http.client.HTTPSConnection):
    """The same over TLS. Without a ``context``, the default one, which verifies the host."""


def _resolve(host: str, port: int, deadline: Deadline) -> list[Any]:
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


class _DeadlineSocket:
    """A connected socket (plain or TLS) whose every send and read gets only the time left."""

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
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

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline
        # On the socket's own file object: http.client (and urllib) close the connection once
        # the headers are read, and the socket must outlive the body's reading.
        self._file = sock.makefile("rb", buffering=0)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int | None:
        self._sock.settimeout(self._deadline.left())
        return self._file.readinto(buffer)

    def close(self) -> None:
        self._file.close()
        super().close()
