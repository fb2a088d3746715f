"""HTTP connections whose timeout bounds the whole exchange (oauth_cc/deadline_http.py).

A local server in a thread plays the slow peer: it answers at once, stalls, or drips its
answer a byte at a time, each byte well within the timeout that http.client gives each
socket operation.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import threading
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from oauth_cc import clock, deadline_http
from oauth_cc.deadline_http import (
    Deadline,
    DeadlineHTTPConnection,
    DeadlineHTTPSConnection,
)

TIMEOUT = 0.2
BOUND = 1.5  # well past TIMEOUT, well short of what an unbounded exchange would take
DRIP_INTERVAL = 0.05  # per byte: within TIMEOUT, so a per-operation timeout never fires
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\n"


class SlowServer:
    """Serves one connection at a time on 127.0.0.1: reads a request (unless told not to),
    sends ``answer`` at once, then ``dripped`` one byte per ``DRIP_INTERVAL``, then holds the
    connection open until stopped if ``stall``."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.02)  # so that the serving thread sees stop() at once
        self.active: socket.socket | None = None
        self.port = self.listener.getsockname()[1]
        self.answer = RESPONSE + b"body-ok!"
        self.dripped = b""
        self.read_request = True
        self.stall = False
        self.requests: list[bytes] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed
            with connection:
                self.active = connection
                with contextlib.suppress(OSError):  # the client gave up, or stop() cut it
                    self._answer(connection)
                self.active = None

    def _answer(self, connection: socket.socket) -> None:
        if self.read_request:
            received = b""
            while b"\r\n\r\n" not in received:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                received += chunk
            self.requests.append(received)
        connection.sendall(self.answer)
        for index in range(len(self.dripped)):
            if self.stopped.wait(DRIP_INTERVAL):
                return
            connection.sendall(self.dripped[index:index + 1])
        if self.stall:
            self.stopped.wait()

    def stop(self) -> None:
        self.stopped.set()
        active = self.active
        if active is not None:
            with contextlib.suppress(OSError):
                active.shutdown(socket.SHUT_RDWR)  # wakes a recv() waiting for a request
        self.thread.join(5)
        self.listener.close()


@pytest.fixture
def server() -> Iterator[SlowServer]:
    running = SlowServer()
    yield running
    running.stop()


@pytest.fixture
def connect() -> Iterator[Callable[..., DeadlineHTTPConnection]]:
    """Makes connections, and closes them after the test (the run fails on a leaked socket)."""
    made: list[http.client.HTTPConnection] = []

    def make(host: str, port: int, timeout: float = 5,
             kind: type[DeadlineHTTPConnection] = DeadlineHTTPConnection
             ) -> DeadlineHTTPConnection:
        made.append(kind(host, port, timeout=timeout))
        return made[-1]  # type: ignore[return-value]

    yield make
    for connection in made:
        connection.close()


def exchange(connection: http.client.HTTPConnection) -> tuple[int, bytes]:
    connection.request("GET", "/jwks.json", headers={"Accept": "application/json"})
    response = connection.getresponse()
    return response.status, response.read()


def timed(action: Callable[[], Any]) -> float:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        action()
    return time.monotonic() - started


# Deadline


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(deadline_http, "time", types.SimpleNamespace(monotonic=fake.monotonic))
    return fake


def test_a_deadline_counts_down_and_then_raises(fake_time):
    deadline = Deadline(5)
    assert deadline.left() == 5
    fake_time.now += 4.75
    assert deadline.left() == 0.25
    fake_time.now += 0.25
    with pytest.raises(TimeoutError):
        deadline.left()
    with pytest.raises(TimeoutError):
        Deadline(0).left()


def test_a_deadline_runs_on_the_real_clock_not_oauth_ccs():
    deadline = Deadline(60)
    with clock.frozen() as frozen:
        frozen.advance(3600)
        assert 0 < deadline.left() <= 60


def test_the_deadline_starts_when_the_connection_is_made(fake_time, server, connect):
    connection = connect("127.0.0.1", server.port, TIMEOUT)
    fake_time.now += TIMEOUT  # spent before the first request: nothing is left for it
    with pytest.raises(TimeoutError):
        exchange(connection)
    assert server.requests == []


# Exchanges


def test_an_exchange_within_the_deadline(server, connect):
    connection = connect("127.0.0.1", server.port)
    assert exchange(connection) == (200, b"body-ok!")
    assert server.requests[0].startswith(b"GET /jwks.json HTTP/1.1\r\n")
    connection.close()


def test_the_body_can_be_read_after_the_connection_is_closed(server, connect):
    """urllib closes the connection once the headers are read, then reads the body."""
    connection = connect("127.0.0.1", server.port)
    connection.request("GET", "/")
    response = connection.getresponse()
    connection.sock.close()  # as urllib's do_open does (HTTPConnection.close() would also
    connection.sock = None  # close the response)
    assert response.read() == b"body-ok!"


def test_a_redirect_is_returned_not_followed(server, connect):
    server.answer = (b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/elsewhere\r\n"
                     b"Content-Length: 0\r\n\r\n")
    connection = connect("127.0.0.1", server.port)
    connection.request("GET", "/jwks.json")
    response = connection.getresponse()
    assert response.status == 302
    assert response.getheader("Location") == "http://127.0.0.1:9/elsewhere"
    assert response.read() == b""
    assert len(server.requests) == 1


def test_a_per_operation_timeout_alone_lets_a_dripping_server_run_on(server):
    """The reason for this module: each byte comes within the timeout, so http.client waits
    for all of them."""
    server.answer, server.dripped = RESPONSE, b"body-ok!"
    started = time.monotonic()
    plain = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        assert exchange(plain) == (200, b"body-ok!")
    finally:
        plain.close()
    assert time.monotonic() - started > TIMEOUT


@pytest.mark.parametrize("part", ["status line", "headers", "body"])
def test_a_dripping_server_cannot_stretch_the_exchange(server, part, connect):
    whole = RESPONSE + b"body-ok!"
    split = {"status line": 0, "headers": whole.index(b"\r\n") + 2,
             "body": len(RESPONSE)}[part]
    server.answer, server.dripped = whole[:split], whole[split:]
    connection = connect("127.0.0.1", server.port, TIMEOUT)
    assert timed(lambda: exchange(connection)) < BOUND


def test_a_server_that_says_nothing(server, connect):
    server.answer, server.stall = b"", True
    connection = connect("127.0.0.1", server.port, TIMEOUT)
    assert timed(lambda: exchange(connection)) < BOUND


def test_a_server_that_never_reads_cannot_stretch_the_sending(server, connect):
    server.read_request, server.answer, server.stall = False, b"", True
    connection = connect("127.0.0.1", server.port, TIMEOUT)
    body = b"x" * (64 << 20)  # more than the socket buffers hold

    def send() -> None:
        connection.request("POST", "/", body=body)

    assert timed(send) < BOUND


def test_a_tls_handshake_with_a_silent_server_is_bounded(server, connect):
    server.read_request, server.answer, server.stall = False, b"", True
    connection = connect("127.0.0.1", server.port, TIMEOUT, DeadlineHTTPSConnection)
    assert timed(lambda: exchange(connection)) < BOUND


# Name resolution and addresses


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return int(listener.getsockname()[1])


def test_every_address_is_tried_in_turn(server, monkeypatch, connect):
    looked_up = []
    addresses = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", closed_port())),
                 (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", server.port))]

    def resolver(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        looked_up.append((host, port))
        return addresses

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    connection = connect("issuer.test", 443)
    assert exchange(connection) == (200, b"body-ok!")
    assert looked_up == [("issuer.test", 443)]


def test_when_every_address_fails_the_last_error_is_raised(monkeypatch, connect):
    addresses = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", closed_port()))
                 for _ in range(2)]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: addresses)
    with pytest.raises(ConnectionRefusedError):
        exchange(connect("issuer.test", 443))


def test_a_name_without_addresses(monkeypatch, connect):
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: [])
    with pytest.raises(OSError, match=r"No address found for issuer\.test"):
        exchange(connect("issuer.test", 443))


def test_a_resolver_error_is_raised_in_the_callers_thread(monkeypatch, connect):
    def resolver(*args: Any, **kwargs: Any) -> list[Any]:
        raise socket.gaierror("Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with pytest.raises(socket.gaierror, match="Name or service not known"):
        exchange(connect("issuer.test", 443))


def test_a_resolver_that_hangs_is_bounded(monkeypatch, connect):
    released = threading.Event()

    def resolver(*args: Any, **kwargs: Any) -> list[Any]:
        released.wait(10)
        raise socket.gaierror("gave up")

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    try:
        connection = connect("issuer.test", 443, TIMEOUT)
        with pytest.raises(TimeoutError, match=r"resolving issuer\.test took too long"):
            exchange(connection)
    finally:
        released.set()  # the lookup thread ends now rather than in 10 s


# An address policy (client_keys refuses internal addresses for clients' jwks_uris)


def test_addresses_the_policy_refuses_are_skipped(server, monkeypatch):
    offered: list[Any] = []
    addresses = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", server.port)),
                 (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", server.port))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: addresses)

    def allow(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        offered.append(address)
        return address.is_loopback

    connection = DeadlineHTTPConnection("keys.test", 443, timeout=5, allow_address=allow)
    try:
        assert exchange(connection) == (200, b"body-ok!")
    finally:
        connection.close()
    assert offered == [ipaddress.ip_address("10.0.0.5"), ipaddress.ip_address("127.0.0.1")]


@pytest.mark.parametrize("kind", [DeadlineHTTPConnection, DeadlineHTTPSConnection])
def test_when_the_policy_refuses_every_address_none_is_connected_to(monkeypatch, kind):
    addresses = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 443)),
                 (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fd00::5", 443, 0, 0))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: addresses)
    attempts: list[Any] = []
    monkeypatch.setattr(socket.socket, "connect",
                        lambda sock, address: attempts.append(address))
    connection = kind("keys.test", 443, timeout=5, allow_address=lambda address: False)
    try:
        with pytest.raises(deadline_http.AddressNotAllowed, match=r"keys\.test") as raised:
            exchange(connection)
    finally:
        connection.close()
    assert isinstance(raised.value, OSError)  # as every other failure to connect
    assert "not allowed" in str(raised.value)
    assert "169.254" not in str(raised.value)
    assert "fd00" not in str(raised.value)
    assert attempts == []
